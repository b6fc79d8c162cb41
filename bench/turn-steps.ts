/**
 * A step timeline of warm session turns inside a gateway in this process (bench only: bench/turn-timeline.ts
 * installs it at run time; nothing of it is in src/). Wraps, on the prototypes of the gateway's own classes (the
 * modules of the code it runs: dist/ or src/) and on Node's sockets, the points a turn passes, and stamps each with
 * process.hrtime (CLOCK_MONOTONIC, the same clock on every thread, so a client thread's stamps line up); a
 * setImmediate scheduled and run while a turn is traced is stamped too (a wait for the loop to come round):
 *   before `turn/start`: the request's bytes read from the TCP socket, the HTTP server's `request` event, the
 *     session manager's steps (startTurn, the state read, the owner check), the turn queue, the codex session,
 *     the app-server's send, the JSON-RPC write, the pipe write;
 *   after `turn/completed`: the pipe read of the chunk that held it, its JSON-RPC dispatch, TurnRun, the end of
 *     the turn's stream, the EventLog's commits, the session state's step, the store's transaction, the queue's
 *     answer, the response's end and its socket write.
 * Only the turn being traced is recorded (`begin`/`end`); one turn at a time.
 */
import { ServerResponse } from 'node:http'
import { Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import { Socket } from 'node:net'

/** ms on CLOCK_MONOTONIC. */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6

export interface Stamp {
  step: string
  at: number
}

type Load = <T>(file: string) => Promise<T>
type Proto = Record<string, unknown>

export interface TurnSteps {
  /** Starts recording a turn (clears what was recorded). */
  begin(): void
  /** Stops recording; returns the turn's stamps in the order they were taken. */
  end(): Stamp[]
  /** Puts every wrapped method back. */
  restore(): void
}

/** A gateway in this process to trace. */
export interface TracedGateway {
  /**
   * Loads one of the gateway's modules by its path under src/ as the build names it (the gateway's own code,
   * bench/gateway-modules.ts).
   */
  load: Load
  /** The gateway's store instance (its methods are wrapped on the instance). */
  store: object
  /** Its HTTP server (the `request` event is stamped). */
  server: { emit: (...args: never[]) => boolean }
  /** Fastify's Reply.prototype of its own fastify (reply.send is stamped). */
  replyProto?: object
}

/**
 * Installs the wraps: Node's once, and each gateway's (several gateways from different checkouts: their own
 * module instances, so a turn through either is stamped the same way; trace one turn at a time).
 */
export async function installTurnSteps(gateways: readonly TracedGateway[]): Promise<TurnSteps> {
  let stamps: Stamp[] | undefined
  const mark = (step: string, at = nowMs()) => {
    stamps?.push({ step, at })
  }
  const undo: (() => void)[] = []

  /** Wraps `name` of `target`: `enter` before the call; for a promise, `settled` when it settles. */
  const wrap = (
    target: object,
    name: string,
    label: string | ((args: unknown[]) => string | undefined),
    opts: { settled?: boolean } = {},
  ) => {
    const t = target as Proto
    const own = Object.getOwnPropertyDescriptor(t, name)
    const original = t[name]
    if (typeof original !== 'function') throw new Error(`turn-steps: ${name} is not a method to wrap`)
    t[name] = function (this: unknown, ...args: unknown[]) {
      const step = stamps ? (typeof label === 'string' ? label : label(args)) : undefined
      if (step) mark(step)
      const result = (original as (...a: unknown[]) => unknown).apply(this, args)
      if (step && opts.settled && result instanceof Promise) {
        const take = stamps
        result.then(
          () => {
            if (stamps === take) mark(`${step} settled`)
          },
          () => {},
        )
      }
      return result
    }
    undo.push(() => {
      if (own) Object.defineProperty(t, name, own)
      else delete t[name]
    })
  }
  const protoOf = async (load: Load, file: string, className: string): Promise<object> => {
    const mod = await load<Record<string, { prototype: object } | undefined>>(file)
    const cls = mod[className]
    if (!cls) throw new Error(`turn-steps: ${file} has no ${className}`)
    return cls.prototype
  }

  // ------------------------------------------------------------------ Node: sockets and the response
  let lastStdoutChunk = Number.NaN
  const push = Socket.prototype.push
  Socket.prototype.push = function (
    this: Socket & { _handle?: object | null; server?: unknown },
    ...args: unknown[]
  ) {
    const chunk = args[0]
    if (stamps && chunk instanceof Uint8Array) {
      const kind = this._handle?.constructor.name
      if (kind === 'TCP' && this.server) mark('tcp read (server)')
      else if (kind === 'Pipe') {
        const at = nowMs()
        if (Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).includes('"turn/completed"'))
          lastStdoutChunk = at
      }
    }
    return (push as (...a: unknown[]) => boolean).apply(this, args)
  } as typeof push
  undo.push(() => {
    Socket.prototype.push = push
  })
  for (const method of ['_write', '_writev'] as const) {
    const original = Socket.prototype[method] as (...a: unknown[]) => void
    Socket.prototype[method] = function (
      this: Socket & { _handle?: object | null; server?: unknown },
      ...args: unknown[]
    ) {
      const kind = this._handle?.constructor.name
      const step =
        kind === 'TCP' && this.server ? 'socket write (response)' : kind === 'Pipe' ? 'pipe write' : undefined
      if (step) mark(step)
      original.apply(this, args)
      if (step) mark(`${step} returned`)
    } as never
    undo.push(() => {
      Socket.prototype[method] = original as never
    })
  }
  wrap(ServerResponse.prototype, 'writeHead', 'response writeHead')
  // a callback that waits for the loop to come round
  const immediate = globalThis.setImmediate
  globalThis.setImmediate = function (this: unknown, fn: (...a: unknown[]) => void, ...args: unknown[]) {
    if (!stamps) return immediate(fn, ...args)
    const take = stamps
    mark('setImmediate scheduled')
    return immediate(
      function (this: unknown, ...a: unknown[]) {
        if (stamps === take) mark('setImmediate ran')
        return fn.apply(this, a)
      },
      ...args,
    )
  } as typeof setImmediate
  undo.push(() => {
    globalThis.setImmediate = immediate
  })
  wrap(ServerResponse.prototype, 'end', 'response end')
  wrap(Http2ServerResponse.prototype, 'write', 'h2 response write')
  // a request body's bytes reaching the HTTP/2 compatibility request (the /agent/stream frames)
  wrap(Http2ServerRequest.prototype, 'push', (a) => (a[0] ? 'h2 request data (server)' : undefined))

  // ------------------------------------------------------------------ the gateway's classes
  for (const { load, store, server, replyProto } of gateways) {
    wrap(server, 'emit', (a) => (a[0] === 'request' ? 'http server: request event' : undefined))
    if (replyProto) wrap(replyProto, 'send', 'fastify reply.send')
    const proto = (file: string, className: string) => protoOf(load, file, className)
    const manager = await proto('core/session-manager.js', 'SessionManager')
    wrap(manager, 'startTurn', 'SessionManager.startTurn', { settled: true })
    wrap(manager, 'heldForTurn', 'heldForTurn', { settled: true })
    wrap(manager, 'execute', 'SessionManager.execute')
    wrap(manager, 'storeStarted', 'storeStarted', { settled: true })
    wrap(manager, 'waitTurn', 'waitTurn', { settled: true })
    wrap(await proto('core/live-sessions.js', 'LiveSessions'), 'held', 'LiveSessions.held', { settled: true })
    const queue = await proto('core/turn-queue.js', 'TurnQueue')
    wrap(queue, 'push', 'TurnQueue.push')
    wrap(queue, 'answer', 'TurnQueue.answer')
    wrap(queue, 'release', 'TurnQueue.release')
    const codexSession = await proto('agents/codex-app-server/codex-session.js', 'CodexSession')
    wrap(codexSession, 'turn', 'CodexSession.turn (generator made)')
    wrap(codexSession, 'startTurn', 'CodexSession.startTurn')
    const host = await proto('agents/codex-app-server/app-server-host.js', 'AppServerHost')
    wrap(host, 'ensureLoaded', 'ensureLoaded', { settled: true })
    wrap(host, 'route', (a) => (a[0] === 'turn/completed' ? 'host.route turn/completed' : undefined))
    const appServer = await proto('agents/codex-app-server/app-server-process.js', 'AppServerProcess')
    wrap(appServer, 'send', (a) => (a[0] === 'turn/start' ? 'AppServerProcess.send turn/start' : undefined))
    const rpc = await proto('agents/codex-app-server/rpc.js', 'RpcPeer')
    wrap(rpc, 'request', (a) => (a[0] === 'turn/start' ? 'RpcPeer.request turn/start' : undefined))
    wrap(rpc, 'write', (a) =>
      String(a[0]).includes('"turn/start"') ? 'RpcPeer.write turn/start' : undefined,
    )
    wrap(rpc, 'dispatch', (a) => {
      if (!String(a[0]).includes('"turn/completed"')) return undefined
      mark('pipe read (turn/completed chunk)', lastStdoutChunk)
      return 'RpcPeer.dispatch turn/completed'
    })
    const turnRun = await proto('agents/codex-app-server/turn-run.js', 'TurnRun')
    wrap(turnRun, 'notify', (a) => (a[0] === 'turn/completed' ? 'TurnRun.notify turn/completed' : undefined))
    wrap(turnRun, 'end', 'TurnRun.end')
    const log = await proto('core/event-log.js', 'EventLog')
    wrap(log, 'append', (a) => `EventLog.append ${(a[1] as { type?: string })?.type}`)
    wrap(log, 'commitNow', 'EventLog.commitNow')
    wrap(log, 'commitWith', 'EventLog.commitWith', { settled: true })
    wrap(log, 'redact', (a) => `EventLog.redact ${(a[0] as { type?: string })?.type}`)
    wrap(log, 'flush', 'EventLog.flush', { settled: true })
    wrap(await proto('core/event-pipe.js', 'EventPipe'), 'drain', 'EventPipe.drain', { settled: true })
    // /agent/stream (seed 004): the frame handled, the session's events forwarded, each frame sent
    const connection = await proto('http/compat/agent-stream-session.js', 'AgentStreamConnection')
    wrap(connection, 'receive', 'stream: receive')
    wrap(await proto('http/compat/agent-stream-codec.js', 'FrameDecoder'), 'push', 'stream: decoder.push')
    wrap(await proto('http/compat/agent-stream-frame-clock.js', 'FrameClock'), 'pause', 'stream: clock.pause')
    const frames = await load<{ clientFrame: { safeParse: (v: unknown) => unknown } }>(
      'http/compat/agent-stream-frames.js',
    )
    const safeParse = frames.clientFrame.safeParse
    frames.clientFrame.safeParse = (v: unknown) => {
      const parsed = safeParse(v)
      if (stamps) mark('stream: frame checked (zod)')
      return parsed
    }
    undo.push(() => {
      frames.clientFrame.safeParse = safeParse
    })
    wrap(connection, 'userMessage', 'stream: userMessage', { settled: true })
    wrap(connection, 'forward', (a) => `stream: forward ${(a[0] as { type?: string })?.type}`)
    wrap(connection, 'send', (a) => {
      const f = a[0] as { type?: string; message?: string }
      return `stream: send ${f.type}${f.message ? ` "${f.message.trim()}"` : ''}`
    })
    const state = await proto('core/session-state.js', 'SessionState')
    wrap(state, 'startTurn', 'SessionState.startTurn', { settled: true })
    wrap(state, 'completeTurn', 'SessionState.completeTurn', { settled: true })
    wrap(state, 'next', 'SessionState.next', { settled: true })
    // the store's calls, outermost only (a transaction's own parts are methods too)
    let depth = 0
    const s = store as Proto
    for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(store))) {
      const original = s[name]
      if (name === 'constructor' || typeof original !== 'function') continue
      s[name] = function (this: unknown, ...args: unknown[]) {
        const outermost = depth === 0 && stamps !== undefined
        if (outermost) mark(`store.${name}`)
        depth++
        try {
          return (original as (...a: unknown[]) => unknown).apply(this, args)
        } finally {
          depth--
          if (outermost) mark(`store.${name} returned`)
        }
      }
      undo.push(() => delete s[name])
    }
  }

  return {
    begin() {
      stamps = []
      lastStdoutChunk = Number.NaN
    },
    end() {
      const taken = stamps ?? []
      stamps = undefined
      return taken.sort((a, b) => a.at - b.at)
    },
    restore() {
      stamps = undefined
      for (const u of undo.reverse()) u()
    },
  }
}
