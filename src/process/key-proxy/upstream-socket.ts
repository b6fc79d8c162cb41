import type { Socket } from 'node:net'

/** Whoever has an upstream connection now: the leg whose requests go on it, or the pool keeping it idle. */
export interface UpstreamHolder {
  data(chunk: Buffer): void
  drain(): void
  /** The upstream ended its side (a FIN); `closed` follows. */
  ended(): void
  closed(hadError: boolean): void
}

const wrapped = new WeakMap<Socket, UpstreamSocket>()

/**
 * An upstream connection's listeners, added once for its life and passed on with it (leg -> pool -> leg), each
 * event going to its holder of the moment. codex's app-server opens an agent connection per model call, so every
 * call took the connection from the pool and gave it back: adding and removing each side's own listeners at both
 * hand-overs was ~18 listener changes and two timers a call on the proxy's thread. Hand-overs are synchronous (a
 * leg lets go and the pool takes it in the same call), so no event finds it without a holder but a close after
 * its last one let go (a destroyed leg's), which goes to nobody.
 */
export class UpstreamSocket {
  private holder: UpstreamHolder | undefined

  /** The one UpstreamSocket of `socket` (its listeners added at the first call: it starts flowing then). */
  static of(socket: Socket): UpstreamSocket {
    let up = wrapped.get(socket)
    if (!up) {
      up = new UpstreamSocket(socket)
      wrapped.set(socket, up)
    }
    return up
  }

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      if (this.holder) this.holder.data(chunk)
      // bytes nobody asked for: the connection cannot carry a request any more
      else socket.destroy()
    })
    socket.on('drain', () => this.holder?.drain())
    socket.on('end', () => this.holder?.ended())
    socket.on('error', () => {})
    socket.on('close', (hadError: boolean) => {
      const holder = this.holder
      this.holder = undefined
      holder?.closed(hadError)
    })
  }

  /** `holder` gets the connection's events from now on. */
  hold(holder: UpstreamHolder): void {
    this.holder = holder
  }

  /** `holder` lets go (nobody hears the events until the next hold); a no-op once another holds it. */
  letGo(holder: UpstreamHolder): void {
    if (this.holder === holder) this.holder = undefined
  }
}
