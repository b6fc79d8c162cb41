import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** A client's own `x-request-id` is kept when it is a plain token; anything else gets a fresh UUID. */
const acceptableId = /^[A-Za-z0-9._:-]{1,128}$/

export function genReqId(req: IncomingMessage): string {
  const given = req.headers['x-request-id']
  return typeof given === 'string' && acceptableId.test(given) ? given : randomUUID()
}

/** Which log field an id belongs to, by its prefix (ids are `run_…`, `ses_…`, `turn_…`, `apr_…`). */
const fieldByPrefix: Record<string, string> = {
  run: 'runId',
  ses: 'sessionId',
  turn: 'turnId',
  apr: 'approvalId',
}

/**
 * One request id per request (`reqId` on its log lines, `x-request-id` on its response, streams included),
 * and the run, session or approval it is about bound to its logger, so every line about it carries the id.
 */
export function registerRequestLog(app: FastifyInstance): void {
  // Callback hooks: synchronous work, no promise per request (hooks.ts of Fastify awaits an async one).
  app.addHook('onRequest', (request, reply, done) => {
    // On the raw response, so hijacked (streamed) replies send it too.
    reply.raw.setHeader('x-request-id', request.id)
    done()
  })
  app.addHook('preHandler', (request, reply, done) => {
    const id = (request.params as { id?: unknown } | undefined)?.id
    if (typeof id === 'string') bindLog(request, reply, idBindings(id))
    done()
  })
}

/** Adds fields (e.g. the run a request just created) to every later log line of this request. */
export function bindLog(
  request: FastifyRequest,
  reply: FastifyReply,
  bindings: Record<string, string>,
): void {
  if (Object.keys(bindings).length === 0) return
  request.log = request.log.child(bindings)
  reply.log = request.log
}

export function idBindings(id: string): Record<string, string> {
  const field = fieldByPrefix[id.split('_')[0] ?? '']
  return field ? { [field]: id } : {}
}
