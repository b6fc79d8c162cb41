import type { Duplex } from 'node:stream'
import type { FastifyPluginAsync } from 'fastify'
import type { WebSocket } from 'ws'
import type { GatewayContext } from '../../core/context.js'
import { scopeOf } from '../tenant-scope.js'
import { websocketUpgrades } from '../websocket-upgrade.js'
import { frameLimits } from './agent-stream-frame-clock.js'
import type { ServerFrame } from './agent-stream-frames.js'
import { AgentStreamConnection, type FrameSink } from './agent-stream-session.js'
import { stoppedWithGateway } from './agent-stream-stop.js'
import { clockWsFrames } from './agent-stream-ws-frames.js'

/** The subprotocol a client offers (with `bearer.<base64url token>` when it cannot send Authorization). */
export const agentStreamProtocol = 'agent-stream'

/** Frames as WebSocket text messages; a write resolves once the socket took it (backpressure). */
class WsFrameSink implements FrameSink {
  constructor(
    private readonly ws: WebSocket,
    /** The upgraded connection under `ws`: corked around a call's messages. */
    private readonly socket: Duplex,
  ) {}

  get closed(): boolean {
    return this.ws.readyState !== this.ws.OPEN
  }

  write(f: ServerFrame): Promise<void> {
    if (this.closed) return Promise.resolve()
    return new Promise((resolve) => this.ws.send(JSON.stringify(f), () => resolve()))
  }

  /**
   * One message per frame (the protocol's rule on WebSocket), sent in one system call: ws writes each message
   * straight to the socket (no compression here), so with the socket corked around the sends they leave as one
   * writev when it is uncorked, and the client reads the last with the first.
   */
  async writeAll(frames: readonly ServerFrame[]): Promise<void> {
    let sent: Promise<void>[]
    this.socket.cork()
    try {
      sent = frames.map((f) => this.write(f))
    } finally {
      this.socket.uncork()
    }
    await Promise.all(sent)
  }

  end(): void {
    if (!this.closed) this.ws.close(1000)
  }
}

/**
 * The frames of /agent/stream over WebSocket at `/agent/ws` (the original's named next transport): one frame
 * per message, same sessions, same approvals, same auth. Messages are handled one at a time; while one is
 * handled the socket is paused, so a fast sender cannot queue work without bound.
 */
export function agentStreamWsRoutes(ctx: GatewayContext): FastifyPluginAsync {
  return async (app) => {
    // ws (and the server it makes) is loaded with the first upgrade (websocket-upgrade.ts). No closing of every
    // client at the gateway's stop (a turn in flight interrupted): each connection ends as the gateway's stop
    // reaches it (stoppedWithGateway), as /agent/stream's do.
    const upgrades = websocketUpgrades(app, {
      maxPayload: ctx.config.BODY_LIMIT_BYTES,
      // Select the real subprotocol, never the token carrier, so the token is not echoed back.
      handleProtocols: (offered) => (offered.has(agentStreamProtocol) ? agentStreamProtocol : false),
    })
    const join = stoppedWithGateway(app)
    // A GET only to upgrade: the stream starts turns, so it needs the `run` scope as POST /agent/stream does; its
    // token may come as the `bearer.<base64url>` subprotocol (a browser's WebSocket cannot set Authorization).
    const config = { errorShape: 'v1', scope: 'run', websocketBearer: true } as const
    upgrades.route('/agent/ws', { config }, (ws, request) => {
      const connection = new AgentStreamConnection(
        ctx,
        new WsFrameSink(ws, request.raw.socket),
        scopeOf(ctx, request),
        request.principal,
      )
      const leave = join(connection)
      let closing = false
      const stop = () => {
        if (closing) return
        closing = true
        clock?.stop()
        leave()
        void connection.close()
      }
      const socket = request.raw.socket
      const clock = clockWsFrames(ws, socket, frameLimits(ctx), (stall) => {
        ctx.metrics.connectionRefused('body_timeout')
        void connection.decodeError(stall.message, { limit: stall.limit }).finally(() => {
          // The client is inside a message: its close frame cannot come before it ends. 1008 (policy
          // violation), then the socket closes once that is written.
          if (ws.readyState === ws.OPEN) ws.close(1008, `message not received in time (${stall.limit})`)
          socket.destroySoon()
          stop()
        })
      })
      // ws emits every message of one read at once, paused or not: each is handled after the one before (two
      // first `user_message`s handled at once attached the stream to its session twice, every frame sent twice)
      let previous: Promise<void> = Promise.resolve()
      let waiting = 0
      ws.on('message', (data, isBinary) => {
        waiting++
        ws.pause()
        clock?.pause()
        const text = data.toString()
        const handled = previous.then(() => handle(text, isBinary))
        previous = handled.catch(() => {})
        // Resumed also when closing: the close handshake needs the socket read.
        void handled.finally(() => {
          if (--waiting > 0) return
          clock?.resume()
          ws.resume()
        })
      })
      ws.on('close', stop)
      ws.on('error', stop)

      async function handle(text: string, isBinary: boolean): Promise<void> {
        let value: unknown
        try {
          value = JSON.parse(text)
        } catch (err) {
          await connection.decodeError(
            `${isBinary ? 'binary ' : ''}message is not JSON: ${(err as Error).message}`,
          )
          return stop()
        }
        if ((await connection.receive(value)) === 'end') stop()
      }
    })
  }
}
