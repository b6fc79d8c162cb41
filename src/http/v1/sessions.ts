import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { GatewayContext } from '../../core/context.js'
import { limits } from '../../protocol/limits.js'
import { approvalPolicy, sandboxMode } from '../../protocol/policies.js'
import { session, turn, turnInput } from '../../protocol/sessions.js'
import { webhookSpec } from '../../protocol/webhooks.js'
import { acceptedStream, sendEventStream } from '../event-stream.js'
import { bindLog } from '../request-log.js'
import { scopeOf } from '../tenant-scope.js'
import {
  booleanQuery,
  errorResponses,
  eventsQuery,
  lastEventIdHeaders,
  listPage,
  listQuery,
  resolveEventCursor,
} from './schemas.js'

const config = { errorShape: 'v1' as const }
const tags = ['sessions']
const idParams = z.object({ id: z.string().min(1) })

const createSessionBody = z.object({
  /** An agent with sessions (GET /v1/agents: capabilities.sessions), default AI_PROVIDER. */
  agent: z.string().optional(),
  cwd: z.string().optional(),
  model: z.string().optional(),
  sandbox: sandboxMode.optional(),
  /** When the agent must ask before acting: `untrusted` asks for every command not known safe. */
  approvalPolicy: approvalPolicy.optional(),
  /** Where to POST this session's approval, turn and idle events. */
  webhook: webhookSpec.optional(),
  /** Budget: over it, the next turn waits for an approval to go on (BUDGET_* settings are defaults and ceilings). */
  limits: limits.optional(),
  /** `container`: the agent runs in a container for the session's whole life (CONTAINER_IMAGE). */
  isolation: z.enum(['process', 'container']).optional(),
  /** With `isolation: "container"`: an image from CONTAINER_IMAGES (default CONTAINER_IMAGE). */
  image: z.string().min(1).optional(),
})

const turnBody = z.object({
  /** A prompt, or input items. */
  input: z.union([z.string().min(1), turnInput]),
  /** While a turn runs: queue this one (default), steer the running turn with it, or refuse (409). */
  onBusy: z.enum(['queue', 'steer', 'reject']).default('queue'),
})

const sessionWithTurns = session.extend({ turns: z.array(turn) })

/** The native session API: threads with turns, replayable events, interrupt, fork, archive. */
export function v1SessionRoutes(ctx: GatewayContext): FastifyPluginAsyncZod {
  const keepAliveMs = ctx.config.SSE_KEEPALIVE_SECONDS * 1000
  return async (app) => {
    app.post(
      '/v1/sessions',
      {
        config,
        schema: {
          tags,
          summary: 'Start a session',
          body: createSessionBody,
          response: { 201: session, ...errorResponses },
        },
      },
      async (request, reply) => {
        const { agent, ...fields } = request.body
        await ctx.webhooks.check(fields.webhook)
        const created = await scopeOf(ctx, request).sessions.create(agent ?? ctx.config.AI_PROVIDER, fields)
        bindLog(request, reply, { sessionId: created.id })
        return reply.status(201).header('location', `/v1/sessions/${created.id}`).send(created)
      },
    )

    app.get(
      '/v1/sessions',
      {
        config,
        schema: {
          tags,
          summary: 'List sessions, newest first',
          querystring: listQuery(session.shape.status),
          response: { 200: z.object({ sessions: z.array(session), nextCursor: z.string().nullable() }) },
        },
      },
      async (request) => {
        const { items, nextCursor } = await listPage(request.query, (filter) =>
          scopeOf(ctx, request).sessions.list(filter),
        )
        return { sessions: items, nextCursor }
      },
    )

    app.get(
      '/v1/sessions/:id',
      {
        config,
        schema: {
          tags,
          summary: 'One session with its turns',
          params: idParams,
          response: { 200: sessionWithTurns, 404: errorResponses[404] },
        },
      },
      async (request) => {
        const found = await scopeOf(ctx, request).sessions.mustGet(request.params.id)
        return { ...found, turns: await scopeOf(ctx, request).sessions.turns(found.id) }
      },
    )

    app.post(
      '/v1/sessions/:id/turns',
      {
        config,
        schema: {
          tags,
          summary: 'Send a turn',
          description:
            'Answers 202 with the turn; with ?wait=true answers 200 once it ended. Accept: text/event-stream or application/x-ndjson streams the session events until this turn ends.',
          params: idParams,
          querystring: z.object({ wait: booleanQuery }),
          body: turnBody,
          response: { 200: turn, 202: turn, ...errorResponses },
        },
      },
      async (request, reply) => {
        const { id } = request.params
        const input =
          typeof request.body.input === 'string'
            ? [{ type: 'text' as const, text: request.body.input }]
            : request.body.input
        const before = (await scopeOf(ctx, request).sessions.mustGet(id)).lastSeq
        const started = await scopeOf(ctx, request).sessions.startTurn(id, input, request.body.onBusy)
        const format = acceptedStream(request)
        if (format) {
          const done = (ev: { type: string; turnId?: string }) =>
            (ev.type === 'turn.completed' || ev.type === 'turn.failed') && ev.turnId === started.id
          await sendEventStream(
            reply,
            format,
            (signal) => untilTurnEnds(scopeOf(ctx, request).sessions.events(id, before, signal), done),
            {
              keepAliveMs,
              headers: { 'x-turn-id': started.id },
            },
          )
          return reply
        }
        if (request.query.wait)
          return reply.status(200).send(await scopeOf(ctx, request).sessions.waitTurn(started.id))
        return reply.status(202).send(started)
      },
    )

    app.post(
      '/v1/sessions/:id/interrupt',
      {
        config,
        schema: {
          tags,
          summary: 'Interrupt the running turn',
          params: idParams,
          response: { 200: turn, ...errorResponses },
        },
      },
      async (request) => scopeOf(ctx, request).sessions.interrupt(request.params.id),
    )

    app.post(
      '/v1/sessions/:id/fork',
      {
        config,
        schema: {
          tags,
          summary: "A new session with this one's history",
          params: idParams,
          response: { 201: session, ...errorResponses },
        },
      },
      async (request, reply) =>
        reply.status(201).send(await scopeOf(ctx, request).sessions.fork(request.params.id)),
    )

    app.post(
      '/v1/sessions/:id/archive',
      {
        config,
        schema: {
          tags,
          summary: 'Archive a session (no more turns)',
          params: idParams,
          response: { 200: session, ...errorResponses },
        },
      },
      async (request) => scopeOf(ctx, request).sessions.archive(request.params.id),
    )

    app.get(
      '/v1/sessions/:id/events',
      {
        config,
        schema: {
          tags,
          summary:
            "A session's events: SSE (default) or NDJSON, replayed from Last-Event-ID or ?after=, then live",
          params: idParams,
          querystring: eventsQuery,
          headers: lastEventIdHeaders,
          response: { 400: errorResponses[400], 404: errorResponses[404] },
        },
      },
      async (request, reply) => {
        const { id } = request.params
        await scopeOf(ctx, request).sessions.mustGet(id)
        const after = resolveEventCursor(request.headers['last-event-id'], request.query.after)
        await sendEventStream(
          reply,
          acceptedStream(request) ?? 'sse',
          (signal) => scopeOf(ctx, request).sessions.events(id, after, signal),
          {
            keepAliveMs,
          },
        )
        return reply
      },
    )
  }
}

async function* untilTurnEnds<E extends { type: string }>(
  events: AsyncIterable<E>,
  done: (ev: E) => boolean,
): AsyncGenerator<E> {
  for await (const ev of events) {
    yield ev
    if (done(ev)) return
  }
}
