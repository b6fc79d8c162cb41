import type { FastifyInstance, FastifyReply } from 'fastify'

/**
 * The seeds' originals were FastAPI apps, and Starlette names a charset only for text/* types: their JSON (errors
 * included) went out as `application/json`, their NDJSON as `application/x-ndjson`. A seed route's plugin calls
 * this so its answers say the same instead of Fastify's `application/json; charset=utf-8` (the bytes are UTF-8
 * either way; text/plain and text/event-stream keep `; charset=utf-8`, as Starlette sent them).
 */
export function fastapiContentTypes(app: Pick<FastifyInstance, 'addHook'>): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    if (reply.getHeader('content-type') === 'application/json; charset=utf-8')
      reply.header('content-type', 'application/json')
    return payload
  })
}

/** What a seed's NDJSON stream says it is (seed 001's StreamingResponse media type). */
export const fastapiNdjson = 'application/x-ndjson'

/**
 * Sends `body` as FastAPI sent JSON, `application/json` without a charset, from a handler outside a seed's plugin (the
 * 405 and 404 of its paths): as bytes, to which Fastify adds no charset.
 */
export function sendFastapiJson(reply: FastifyReply, body: unknown): FastifyReply {
  return reply.type('application/json').send(Buffer.from(JSON.stringify(body)))
}
