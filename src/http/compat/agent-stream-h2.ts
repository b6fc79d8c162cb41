import type { ServerHttp2Stream } from 'node:http2'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { GatewayContext } from '../../core/context.js'
import { endThenStopClient } from '../h2-stop-client.js'
import { timesItself } from '../self-timed-requests.js'
import { StreamWriter } from '../stream-writer.js'
import { scopeOf } from '../tenant-scope.js'
import {
  encodeFrames,
  FrameDecodeError,
  FrameDecoder,
  type Framing,
  framingContentType,
  framingOf,
} from './agent-stream-codec.js'
import { FrameClock, type FrameStall, frameLimits } from './agent-stream-frame-clock.js'
import { frame, type ServerFrame } from './agent-stream-frames.js'
import { AgentStreamConnection, type FrameSink } from './agent-stream-session.js'
import { stoppedWithGateway } from './agent-stream-stop.js'

/** Frames on a streamed response body, in the request's framing; writes wait while the client is slow. */
class ResponseFrameSink extends StreamWriter implements FrameSink {
  constructor(
    reply: FastifyReply,
    private readonly framing: Framing,
    onClientGone: () => void,
  ) {
    super(reply, framingContentType[framing], onClientGone)
  }

  write(f: ServerFrame): Promise<void> {
    return this.send(encodeFrames(this.framing, [f]))
  }

  /** One write of all of them: the client gets them in one DATA frame, not the next after the first's flush. */
  writeAll(frames: readonly ServerFrame[]): Promise<void> {
    return this.send(encodeFrames(this.framing, frames))
  }

  /**
   * Ends the response; on HTTP/2 a client still sending is then told to stop without error, after the response's
   * END_STREAM (h2-stop-client.ts), so the stream closes on both sides.
   */
  override end(): void {
    const stream = (this.raw as { stream?: ServerHttp2Stream }).stream
    if (stream) {
      endThenStopClient(stream, () => super.end())
      return
    }
    super.end()
    // HTTP/1.1 cannot end a request whose body is unfinished: its connection is closed once the answer is out.
    const request = (this.raw as { req?: { complete: boolean } }).req
    const socket = this.raw.socket // detached from the response once it finished
    if (request && !request.complete && socket) this.raw.once('finish', () => socket.destroySoon())
  }
}

/**
 * Seed 004's `POST /agent/stream`: one long-lived bidirectional stream (HTTP/2; HTTP/1.1 with a chunked body
 * works too). The request body is read frame by frame as it arrives, only as fast as frames are handled.
 */
export function agentStreamRoutes(ctx: GatewayContext): FastifyPluginAsync {
  return async (app) => {
    // The body is the frame stream: no parser may buffer it (this plugin's routes only).
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('*', (_request, _payload, done) => done(null))

    // The body is read by the handler, frame by frame, for as long as the stream lives: no body clock; each
    // frame in flight has its own (agent-stream-frame-clock.ts).
    const config = { errorShape: 'v1', streamingBody: true, otherMethods: notFoundFrame } as const
    const join = stoppedWithGateway(app)
    app.post('/agent/stream', { config }, async (request, reply) => {
      const framing = framingOf(request.headers['content-type'])
      let connection: AgentStreamConnection | undefined
      const sink = new ResponseFrameSink(reply, framing, () => void connection?.close())
      connection = new AgentStreamConnection(ctx, sink, scopeOf(ctx, request), request.principal)
      const leave = join(connection)
      const decoder = new FrameDecoder(framing, ctx.config.BODY_LIMIT_BYTES)
      // HTTP/1.1: the frame clock bounds this body, not Node's requestTimeout for the whole request
      const untimed = 'stream' in request.raw ? undefined : timesItself(request.raw.socket)
      const clock = new FrameClock(frameLimits(ctx), (stall) => {
        ctx.metrics.connectionRefused('body_timeout')
        void cutStalled(connection!, stall)
      })
      try {
        for await (const chunk of request.raw as AsyncIterable<Buffer>) {
          const values = decoder.push(chunk)
          clock.read(values.length > 0, decoder.partialBytes)
          clock.pause()
          for (const value of values) if ((await connection.receive(value)) === 'end') return
          // a bad frame after those in the same chunk: it ends the stream once they were handled
          if (decoder.failure) throw decoder.failure
          clock.resume()
          if (sink.closed) return
        }
        // the client ended its side: a last frame that does not decode is answered with the error, then terminate
        connection.clientEnding()
        for (const value of decoder.end()) if ((await connection.receive(value)) === 'end') return
        await connection.clientEnded()
      } catch (err) {
        if (err instanceof FrameDecodeError) await connection.decodeError(err.message)
        else if (!sink.closed) await connection.fatal(err)
      } finally {
        clock.stop()
        untimed?.()
        leave()
        await connection.close()
      }
    })
  }
}

/**
 * Another method on /agent/stream: a 404, as the original answered any path or method but `POST /agent/stream`,
 * its body one `error` frame in the request's framing (the original's was the bare text "Not Found").
 */
function notFoundFrame(request: FastifyRequest, reply: FastifyReply): void {
  const framing = framingOf(request.headers['content-type'])
  const message = `Not Found: ${request.method} /agent/stream; the stream is POST /agent/stream (docs/agent-stream.md)`
  reply
    .status(404)
    .header('content-type', framingContentType[framing])
    .send(encodeFrames(framing, [frame({ type: 'error', code: 'NOT_FOUND', message })]))
}

/**
 * A frame stalled: FRAME_DECODING_ERROR (the frame never decoded) and the stream ends as after any decode error
 * (its turn interrupted unless another stream follows the session); ResponseFrameSink.end closes the HTTP/2 stream,
 * or the HTTP/1.1 connection whose request body is unfinished.
 */
async function cutStalled(connection: AgentStreamConnection, stall: FrameStall): Promise<void> {
  await connection.decodeError(stall.message, { limit: stall.limit }).catch(() => {})
  await connection.close()
}
