import type { FastifyInstance } from 'fastify'

/**
 * Answers of the not-found handler (404, 405) to HEAD go without their body, with its length, as Fastify's own HEAD
 * routes answer. Their body was written to an HTTP/2 stream already ended with its HEADERS (a HEAD's answer): the
 * stream then never gave the client more window, so a HEAD still uploading a body larger than one window (64 KiB)
 * hung until its body clock (BODY_IDLE_SECONDS) cut it, where every other HEAD answer reads it to its end.
 */
export function registerHeadAnswers(app: FastifyInstance): void {
  // a callback hook, not an async one: every answer passes here
  app.addHook('onSend', (request, reply, payload, done) => {
    if (
      request.method !== 'HEAD' ||
      !request.is404 ||
      !(typeof payload === 'string' || Buffer.isBuffer(payload))
    ) {
      done(null, payload)
      return
    }
    reply.header('content-length', String(Buffer.byteLength(payload)))
    done(null, null)
  })
}
