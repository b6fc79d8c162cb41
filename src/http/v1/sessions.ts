import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { GatewayContext } from '../../core/context.js'
import { externalIdFree } from '../../core/external-ids.js'
import { requestDigest } from '../../core/request-keys.js'
import { approvalPolicy, sandboxMode } from '../../protocol/policies.js'
import {
  externalId,
  imageUrlInputItem,
  localImageInputItem,
  maxTurnImages,
  session,
  textInputItem,
  turn,
} from '../../protocol/sessions.js'
import { acceptedStream, sendEventStream } from '../event-stream.js'
import { bindLog } from '../request-log.js'
import { scopeOf } from '../tenant-scope.js'
import { actionRoute, eventsRoute, getRoute, listRoute, v1Config } from './route-kit.js'
import {
  booleanQuery,
  errorResponses,
  idempotencyKeyHeaders,
  idParams,
  sessionList,
  strictRequestLimits,
  strictRequestWebhook,
} from './schemas.js'
import { strictBody, strictQuery } from './strict-fields.js'

const config = v1Config
const tags = ['sessions']

const createSessionBody = strictBody({
  /** An agent with sessions (GET /v1/agents: capabilities.sessions), default AI_PROVIDER. */
  agent: z.string().optional(),
  cwd: z.string().optional(),
  model: z.string().optional(),
  sandbox: sandboxMode.optional(),
  approvalPolicy: approvalPolicy
    .describe(
      'When the agent asks before acting (an approval: GET /v1/approvals). `untrusted` asks for every command not known safe; `never` never asks (what the sandbox does not allow is refused). An agent without approvals (claude, gemini, copilot) takes `never` or no approvalPolicy (GET /v1/agents lists what each agent takes: approvalPolicies); another value is a 400 naming the agents with approvals.',
    )
    .optional(),
  /** Where to POST this session's approval, turn and idle events. */
  webhook: strictRequestWebhook.optional(),
  /** Budget: over it, the next turn waits for an approval to go on (BUDGET_* settings are defaults and ceilings). */
  limits: strictRequestLimits.optional(),
  /** `container`: the agent runs in a container for the session's whole life (CONTAINER_IMAGE). */
  isolation: z.enum(['process', 'container']).optional(),
  /** With `isolation: "container"`: an image from CONTAINER_IMAGES (default CONTAINER_IMAGE). */
  image: z.string().min(1).optional(),
  externalId: externalId
    .describe(
      "An id of the client's choosing (1-200 characters, no control characters), unique across the server: seed 004's `sessionId` on /agent/stream and /agent/ws continues this session. 409 when another session has it.",
    )
    .optional(),
})

const imageCount = [
  (items: { type: string }[]) => items.filter((i) => i.type !== 'text').length <= maxTurnImages,
  { message: `at most ${maxTurnImages} images (localImage and image items) in one turn` },
] as const

const turnBody = strictBody(
  {
    /** A prompt, or input items: text, and images (`localImage`: a file inside the workspace; `image`: a URL). */
    input: z.union(
      [
        z.string().min(1),
        z
          .array(
            z.discriminatedUnion('type', [
              strictBody(textInputItem.shape),
              strictBody(localImageInputItem.shape),
              strictBody(imageUrlInputItem.shape),
            ]),
          )
          .min(1)
          .refine(...imageCount),
      ],
      {
        error:
          'expected a non-empty string, or items such as [{"type":"text","text":"..."},{"type":"localImage","path":"shot.png"}]',
      },
    ),
    /** While a turn runs: queue this one (default), steer the running turn with it, or refuse (409). */
    onBusy: z
      .enum(['queue', 'steer', 'reject'])
      .default('queue')
      .describe(
        'While a turn runs: `queue` this one (default), `steer` the running turn with it, or `reject` (409). A steer is answered with the turn its input went into: the running one (its `turn.steered` event), or a new queued turn when the agent cannot steer, its turn is ending, or its agent did not answer the steer within KILL_GRACE_MS plus FORCE_END_AFTER_MS of the end of its turn (or at all, for a turn the gateway ended by force): that steer is not taken, its input is the next turn (`turn.steer_refused`), whatever the agent answers later. The agent may accept a steer and end its turn without taking it (codex drops a steer still pending when its turn is interrupted): the steer is then withdrawn as the turn ends, and an event says where its input went: `turn.steer_refused` (the turn completed: the input is the next turn, `queuedTurnId`, ahead of the turns queued after it) or `turn.steer_failed` (the turn was interrupted or failed, or ended by force because its agent did not stop within KILL_GRACE_MS plus FORCE_END_AFTER_MS of its interrupt, which withdraws every steer its agent is not known to have taken: the input is in no turn, send it again). Each comes before the `turn.completed` of the turn the steer was recorded into: a client that read that end knows where every steer of the turn went.',
      ),
    approvalPolicy: approvalPolicy
      .describe(
        "The approval policy this turn runs with; the turns after it without one run with the session's. An agent that takes a policy per turn (codex, claude) runs the turn with it, stricter or not; another one (acp) takes only its session's policy, and an agent without approvals only `never`: anything else is a 400 before the turn runs, never ignored. Not with onBusy `steer` (the running turn keeps its policy). codex: an `untrusted` turn of a session of another policy first reopens the session's thread under the sandbox profile codex does not retry outside its sandbox (docs/SECURITY.md, codex's unsandboxed runs), which costs that turn a thread resume (before the session's first turn: a new thread, whose id the session then shows as agentSessionId); the thread keeps it for the session's later turns while it stays loaded.",
      )
      .optional(),
    outputSchema: z
      .record(z.string(), z.unknown())
      .describe(
        "A JSON Schema this turn's final message is held to, for this turn alone (the turns after it without one answer freely). Only an agent whose GET /v1/agents capabilities have `turnOutputSchema` (codex: its `turn/start`'s `outputSchema`) runs with it; another one is a 400 before the turn runs, never ignored. Checked as a run's: at most 128 KiB as JSON, `$ref`s only within itself (starting with #), a valid JSON Schema; else a 400. The answer is the agent's final message as it gave it (the gateway does not parse or check it, unlike a run's `result`). Not with onBusy `steer` (the running turn keeps its own).",
      )
      .optional(),
  },
  { prompt: 'input' },
)

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
          description:
            'Answers 201 with the session. With an Idempotency-Key, a retry with the same key and body answers the session the first request made (200 and Idempotent-Replayed: true instead of 201) and opens no other agent; the same key with another body is a 409 conflict, and so is a retry while the first request is still being answered (with Retry-After).',
          headers: idempotencyKeyHeaders,
          body: createSessionBody,
          response: { 200: session, 201: session, ...errorResponses },
        },
      },
      async (request, reply) => {
        const { agent, ...fields } = request.body
        await ctx.webhooks.check(fields.webhook)
        const scope = scopeOf(ctx, request)
        const create = async (id?: string) => {
          // before the agent opens a thread for it (the store's unique index settles a race after)
          if (fields.externalId) await externalIdFree(ctx.store, scope, fields.externalId)
          return scope.sessions.create(agent ?? ctx.config.AI_PROVIDER, fields, id)
        }
        const key = request.headers['idempotency-key']
        const { session: created, replayed } = key
          ? await scope.sessions.createOnce(key, requestDigest(request.body, 'POST /v1/sessions'), create)
          : { session: await create(), replayed: false }
        bindLog(request, reply, { sessionId: created.id })
        if (replayed) reply.header('idempotent-replayed', 'true')
        return reply
          .status(replayed ? 200 : 201)
          .header('location', `/v1/sessions/${created.id}`)
          .send(created)
      },
    )

    listRoute(app, {
      url: '/v1/sessions',
      tags,
      summary: 'List sessions, newest first',
      key: 'sessions',
      page: sessionList,
      status: session.shape.status,
      load: (filter, request) => scopeOf(ctx, request).sessions.list(filter),
    })

    getRoute(app, {
      url: '/v1/sessions/:id',
      tags,
      summary: 'One session with its turns',
      item: sessionWithTurns,
      load: async (id, request) => {
        const { sessions } = scopeOf(ctx, request)
        const found = await sessions.mustGet(id)
        return { ...found, turns: await sessions.turns(found.id) }
      },
    })

    app.post(
      '/v1/sessions/:id/turns',
      {
        config,
        schema: {
          tags,
          summary: 'Send a turn',
          description:
            'Answers 202 with the turn; with ?wait=true answers 200 once it ended. Accept: text/event-stream or application/x-ndjson streams the session events until this turn ends. With an Idempotency-Key (only with onBusy `queue`, the default, or `reject`: with `steer` a 400, as a steer may go into the running turn instead of a new one), a retry with the same key and body to the same session answers the turn the first request made, as it is now (200 and Idempotent-Replayed: true instead of 202; waited for, or its events streamed from its first, as asked), on any node, and starts no other turn; the same key with another body, or on another session or route, is a 409 conflict, and so is a retry while the first request is still being answered (with Retry-After).',
          headers: idempotencyKeyHeaders,
          params: idParams,
          querystring: strictQuery({ wait: booleanQuery }),
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
        const format = acceptedStream(request)
        // A stream starts after what the session had stored before this turn.
        const before = format ? (await scopeOf(ctx, request).sessions.mustGet(id)).lastSeq : 0
        const { onBusy, approvalPolicy: policy, outputSchema } = request.body
        const { sessions } = scopeOf(ctx, request)
        // core/turn-options.ts checks both (400) and refuses what its agent would not honour
        const options = {
          ...(policy ? { approvalPolicy: policy } : {}),
          ...(outputSchema ? { outputSchema } : {}),
        }
        const key = request.headers['idempotency-key']
        // a key is the tenant's, across routes and sessions: the digest names the session
        const { turn: started, replayed } = key
          ? await sessions.startTurnOnce(
              key,
              requestDigest(request.body, `POST /v1/sessions/${id}/turns`),
              id,
              input,
              onBusy,
              options,
            )
          : { turn: await sessions.startTurn(id, input, onBusy, options), replayed: false }
        bindLog(request, reply, { turnId: started.id })
        if (replayed) reply.header('idempotent-replayed', 'true')
        if (format) {
          const done = (ev: { type: string; turnId?: string }) =>
            (ev.type === 'turn.completed' || ev.type === 'turn.failed') && ev.turnId === started.id
          // a replayed turn may have run already: its stream starts before its first event
          const after = replayed ? await sessions.turnEventsAfter(id, started.id) : before
          await sendEventStream(
            reply,
            format,
            (signal) => untilTurnEnds(sessions.events(id, after, signal), done),
            {
              keepAliveMs,
              headers: {
                'x-turn-id': started.id,
                ...(replayed ? { 'idempotent-replayed': 'true' } : {}),
              },
            },
          )
          return reply
        }
        if (request.query.wait) return reply.status(200).send(await sessions.waitTurn(started.id))
        return reply.status(replayed ? 200 : 202).send(started)
      },
    )

    actionRoute(app, {
      url: '/v1/sessions/:id/interrupt',
      tags,
      summary: 'Interrupt the running turn',
      item: turn,
      act: (id, request) => scopeOf(ctx, request).sessions.interrupt(id),
    })

    actionRoute(app, {
      url: '/v1/sessions/:id/fork',
      tags,
      summary: "A new session with this one's history",
      item: session,
      status: 201,
      act: (id, request) => scopeOf(ctx, request).sessions.fork(id),
    })

    actionRoute(app, {
      url: '/v1/sessions/:id/archive',
      tags,
      summary: 'Archive a session (no more turns)',
      item: session,
      act: (id, request) => scopeOf(ctx, request).sessions.archive(id),
    })

    eventsRoute(app, {
      url: '/v1/sessions/:id/events',
      tags,
      summary:
        "A session's events: SSE (default) or NDJSON, replayed from Last-Event-ID or ?after=, then live",
      keepAliveMs,
      mustExist: (id, request) => scopeOf(ctx, request).sessions.mustGet(id),
      events: (id, after, signal, request) => scopeOf(ctx, request).sessions.events(id, after, signal),
    })
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
