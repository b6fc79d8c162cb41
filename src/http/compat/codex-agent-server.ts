import { existsSync } from 'node:fs'
import path from 'node:path'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { GatewayContext } from '../../core/context.js'
import { Skills } from '../../core/skills.js'
import type { TenantScope } from '../../core/tenancy/tenancy.js'
import { isOverlongAnswer, overlongLimit } from '../../protocol/agent-overlong-answer.js'
import { isAgentRequestTimeoutMessage } from '../../protocol/agent-request-timeout.js'
import { AppError } from '../../protocol/errors.js'
import { approvalPolicy, sandboxMode } from '../../protocol/policies.js'
import { maxTurnImages, type Session, type Turn } from '../../protocol/sessions.js'
import { scopeOf } from '../tenant-scope.js'
import {
  archivedThread,
  listTurnsUnsupported,
  seedAnswers,
  type ThreadMethod,
  turnTimeout,
  unknownThread,
  unknownVariant,
  unreadableFork,
} from './codex-agent-server-errors.js'
import { parseThreadId } from './codex-thread-id.js'
import { fastapiBody, type PydanticModel } from './fastapi-body.js'
import { fastapiContentTypes } from './fastapi-content-type.js'

/**
 * Seed 003 (Codex Agent Server, a REST bridge to `codex app-server`): /api/thread/start|resume|read|fork,
 * /api/turn/start (waits for the turn, bounded by CODEX_REQUEST_TIMEOUT), /api/skills/list,
 * /api/skills/config/write. Thread ids are codex's own; every thread is a gateway session, so its turns are
 * stored and visible on /v1/sessions too. Errors answer FastAPI's `{detail}`; a body the original's pydantic
 * models refused (not JSON, not an object, missing, a required field missing, a wrong type, an input item of a
 * type it did not know) is its 422 `{"detail": [...]}` (fastapi-body.ts); what app-server refused (an unknown or
 * archived thread, a resume or fork of a thread with no turn in it yet, its turns listed, an approvalPolicy
 * (`on-failure` too) or sandbox codex does not know) is
 * its 400 with app-server's error object as `detail`, a turn not done within CODEX_REQUEST_TIMEOUT its 504, a codex
 * request that timed out its 500 `{"detail": ""}` (codex-agent-server-errors.ts); what only the gateway refuses (a
 * skill or mention input item, a localImage or cwd outside the workspace, danger-full-access without
 * ALLOW_DANGER_FULL_ACCESS) a 400 with text. Answers are the original's response models: a thread is its Thread
 * (`seedThread`) of app-server's record (thread/read), whatever else that has. Fields the original's models
 * had are accepted; `sandbox` (thread/start), `approvalPolicy` and `outputSchema` (turn/start, that turn only:
 * codex holds the turn's final message to the schema, answered as codex gave it) are honoured, the rest ignored (docs/ARCHITECTURE.md, seed routes); unknown fields are ignored, as pydantic did.
 * The seed ran in a container with the workspace at /workspace: a `cwd` of /workspace[/sub] that does not
 * exist here means WORKSPACE_DIR[/sub]. An optional field sent as null counts as absent (codex's own params are
 * nullable).
 */
// any string: one that names no thread (an empty one too) is app-server's error for it, as in the original
const threadId = z.object({ threadId: z.string() })
/**
 * The input items the gateway takes of the original's TurnInput: `text`, `localImage` (its `path`, confined to the
 * workspace and staged as a /v1 turn's: core/turn-images.ts) and `image` (its `url`, a data:image/ URL passed on as
 * it is; a remote URL is a 400, as codex 0.171 refuses one: nothing is fetched), which codex's `turn/start` gets as
 * the original gave them. `skill` and `mention` are a 400: the gateway's turns carry neither.
 */
const seedInput = z
  .array(
    z.discriminatedUnion(
      'type',
      [
        z.object({ type: z.literal('text'), text: z.string().min(1) }),
        z.object({ type: z.literal('localImage'), path: z.string().min(1) }),
        z.object({ type: z.literal('image'), url: z.string().min(1) }),
      ],
      {
        error: (issue) =>
          issue.code === 'invalid_union'
            ? 'only text, image and localImage input items are taken (skills and mentions are not)'
            : undefined,
      },
    ),
  )
  .min(1)
  .refine((items) => items.filter((i) => i.type !== 'text').length <= maxTurnImages, {
    message: `at most ${maxTurnImages} images (localImage and image items) in one turn`,
  })

/**
 * The approval policies codex 0.171's app-server takes by name: the gateway's without `on-failure`, which
 * app-server refuses (serde's unknown variant), so the original answered it with that 400; /v1 takes it (as
 * `on-request`), seed 003 answers what its original did.
 */
const codexApprovalPolicy = approvalPolicy.exclude(['on-failure'])

/** `value` as one of `values` (absent when null or absent); another is app-server's refusal of it (unknownVariant). */
function known<T extends string>(
  field: 'approvalPolicy' | 'sandbox',
  values: z.ZodEnum<{ [K in T]: K }>,
  value: string | null | undefined,
): T | undefined {
  if (value === null || value === undefined) return undefined
  const parsed = values.safeParse(value)
  if (!parsed.success) throw unknownVariant(field, value)
  return parsed.data as T
}

export function codexAgentServerRoutes(ctx: GatewayContext): FastifyPluginAsyncZod {
  const base = { errorShape: 'fastapi' as const, framework: 'fastapi' as const, anyOrigin: true as const }
  const config = (pydantic: PydanticModel) => ({ ...base, pydantic })
  const agent = 'codex'
  /**
   * The original's Thread model as it passed on app-server's answer to thread/start, resume and fork: every field
   * app-server's own, read with its thread/read (the record those answer with), so start, resume, fork and read
   * answer one `createdAt`, `preview` and `modelProvider`; `turns` listed `withTurns` (resume, fork), `[]`
   * otherwise, as app-server's thread/start. A read that fails fails the answer: one that timed out is the
   * original's 500 `{"detail": ""}` (its own call timing out), never a field left null or made up.
   */
  const thread = async (scope: TenantScope, s: Session, withTurns: boolean) => {
    const read = (await scope.sessions.read(s.id, withTurns)) as
      | { thread?: Record<string, unknown> }
      | undefined
    const own = seedThread(read?.thread ?? {})
    return { ...own, turns: withTurns ? (own.turns ?? []) : [] }
  }
  const seedCwd = (scope: TenantScope, cwd: string | undefined) => {
    if (!cwd || existsSync(cwd) || !/^\/workspace(\/|$)/.test(cwd)) return cwd
    return path.join(scope.config.WORKSPACE_DIR, cwd.slice('/workspace'.length))
  }
  /**
   * The session of codex thread `threadId` (as sent, or in the canonical form codex reads it in: an id in upper
   * case or braces is the same thread to codex); one this tenant does not have is app-server's error for `method`.
   */
  const sessionOf = async (scope: TenantScope, threadId: string, method: ThreadMethod): Promise<Session> => {
    const canonical = parseThreadId(threadId)
    for (const id of new Set([threadId, 'id' in canonical ? canonical.id : threadId])) {
      try {
        return await scope.sessions.byAgentSessionId(id)
      } catch (err) {
        if (!(err instanceof AppError && err.code === 'not_found')) throw err
      }
    }
    throw unknownThread(method, threadId)
  }
  // Every path is confined (core/skills.ts); unknown fields are refused rather than passed to codex.
  const skillsOf = (scope: TenantScope) => new Skills(scope.sessions, scope.config, agent)

  return async (app) => {
    fastapiContentTypes(app)
    fastapiBody(app)
    seedAnswers(app, () => ctx.config.CODEX_REQUEST_TIMEOUT)
    app.post(
      '/api/thread/start',
      {
        config: config(models.threadStart),
        schema: {
          tags: ['codex agent server (seed 003)'],
          body: z.object({
            model: z.string().nullish(),
            cwd: z.string().nullish(),
            // codex's values, checked in the handler: another is app-server's 400 (unknownVariant)
            approvalPolicy: z.string().nullish(),
            sandbox: z.string().nullish(),
          }),
        },
      },
      async (request) => {
        const scope = scopeOf(ctx, request)
        const { cwd, model } = request.body
        const policy = known('approvalPolicy', codexApprovalPolicy, request.body.approvalPolicy)
        const sandbox = known('sandbox', sandboxMode, request.body.sandbox)
        const created = await scope.sessions.create(agent, {
          ...(seedCwd(scope, cwd ?? undefined) ? { cwd: seedCwd(scope, cwd ?? undefined)! } : {}),
          ...(policy ? { approvalPolicy: policy } : {}),
          ...(model ? { model } : {}),
          ...(sandbox ? { sandbox } : {}),
        })
        return { thread: await thread(scope, created, false) }
      },
    )

    /** POST <url> {threadId}: `act` on the thread's session, answered as {thread}. */
    const threadAction = (
      url: '/api/thread/resume' | '/api/thread/fork',
      pydantic: PydanticModel,
      act: (sessions: TenantScope['sessions'], id: string) => Promise<Session>,
    ) =>
      app.post(url, { config: config(pydantic), schema: { body: threadId } }, async (request) => {
        const scope = scopeOf(ctx, request)
        const method = url === '/api/thread/resume' ? 'thread/resume' : 'thread/fork'
        const s = await sessionOf(scope, request.body.threadId, method)
        // what app-server answers: an archived thread is refused until unarchived (the gateway's archive is for
        // good; codex archives a thread with no turns too), one with no turn in it yet has no rollout to resume
        // or fork (a fork holds its parent's: held-history.ts)
        if (s.status === 'archived') throw archivedThread(s.agentSessionId)
        if (!(await scope.sessions.holdsHistory(s))) throw unknownThread(method, s.agentSessionId)
        const acted = await act(scope.sessions, s.id)
        try {
          return { thread: await thread(scope, acted, true) }
        } catch (err) {
          // a fork too long to answer with is made all the same: the answer names it
          const limit = overlongLimit(err)
          if (method === 'thread/fork' && limit !== undefined)
            throw unreadableFork(s.agentSessionId, acted.agentSessionId, limit)
          throw err
        }
      })

    threadAction('/api/thread/resume', models.threadResume, (sessions, id) => sessions.resume(id))

    app.post(
      '/api/thread/read',
      {
        config: config(models.threadRead),
        schema: { body: threadId.extend({ includeTurns: z.boolean().default(false) }) },
      },
      async (request) => {
        const scope = scopeOf(ctx, request)
        const s = await sessionOf(scope, request.body.threadId, 'thread/read')
        const { includeTurns } = request.body
        // app-server reads an archived thread from its archived rollout (codex writes one when it archives), as
        // the original did: it is not reopened. It cannot list the turns of a thread with none in it yet.
        if (s.status !== 'archived' && includeTurns && !(await scope.sessions.holdsHistory(s)))
          throw listTurnsUnsupported()
        const read =
          s.status === 'archived'
            ? await scope.sessions.call(agent, 'thread/read', { threadId: s.agentSessionId, includeTurns })
            : await scope.sessions.read(s.id, includeTurns)
        return {
          thread: seedThread((read as { thread?: Record<string, unknown> } | undefined)?.thread ?? {}),
        }
      },
    )

    threadAction('/api/thread/fork', models.threadId, (sessions, id) => sessions.fork(id))

    app.post(
      '/api/turn/start',
      {
        config: config(models.turnStart),
        schema: {
          body: threadId.extend({
            input: seedInput,
            approvalPolicy: z.string().nullish(),
            // the original's `Optional[Dict[str, Any]]`, passed to app-server's turn/start for this turn
            outputSchema: z.record(z.string(), z.unknown()).nullish(),
          }),
        },
      },
      async (request) => {
        const scope = scopeOf(ctx, request)
        const { sessions } = scope
        // app-server reads the params before it looks for the thread
        const policy = known('approvalPolicy', codexApprovalPolicy, request.body.approvalPolicy)
        const outputSchema = request.body.outputSchema ?? undefined
        const s = await sessionOf(scope, request.body.threadId, 'turn/start')
        // an image path as the original's container saw it (/workspace/...) is found where a cwd is (seedCwd)
        const input = request.body.input.map((item) =>
          item.type === 'localImage' ? { ...item, path: seedCwd(scope, item.path)! } : item,
        )
        // app-server has no loaded thread of an archived one (an archive unloads it)
        const archived = () => unknownThread('turn/start', s.agentSessionId)
        if (s.status === 'archived') throw archived()
        const started = await sessions
          .startTurn(s.id, input, 'queue', {
            ...(policy ? { approvalPolicy: policy } : {}),
            ...(outputSchema ? { outputSchema } : {}),
          })
          .catch(async (err: unknown) => {
            // archived meanwhile
            const now = err instanceof AppError && err.code === 'conflict' && (await sessions.get(s.id))
            throw now && now.status === 'archived' ? archived() : err
          })
        const timeoutSeconds = ctx.config.CODEX_REQUEST_TIMEOUT
        const ended = await sessions.waitTurn(started.id, timeoutSeconds * 1000)
        // the original's words; the turn goes on (its events: /v1/sessions/<id>/events). A turn that failed
        // because codex did not answer a request of it in time (turn/start, the thread's resume) is the original's
        // 504 too: its turn/start request timing out was caught with the turn's wait.
        if (ended.status === 'queued' || ended.status === 'running') throw turnTimeout(timeoutSeconds)
        if (ended.status === 'failed' && isAgentRequestTimeoutMessage(ended.error))
          throw turnTimeout(timeoutSeconds)
        return {
          turn: {
            id: ended.agentTurnId ?? ended.id,
            status: seedStatus(ended),
            items: await recordedItems(sessions, s.id, ended),
            // the original's Turn model: `error` always there, null or a TurnError
            error: ended.error
              ? { message: ended.error, codexErrorInfo: null, additionalDetails: null }
              : null,
          },
        }
      },
    )

    app.post(
      '/api/skills/list',
      {
        config: config(models.skillsList),
        schema: {
          body: z.object({
            cwds: z.array(z.string().min(1)).max(64).nullish(),
            forceReload: z.boolean().optional(),
          }),
        },
      },
      async (request) => {
        const scope = scopeOf(ctx, request)
        return skillsOf(scope).list(
          request.body.cwds?.map((c) => seedCwd(scope, c) ?? c),
          request.body.forceReload,
        )
      },
    )

    app.post(
      '/api/skills/config/write',
      {
        config: config(models.skillsConfigWrite),
        schema: { body: z.object({ path: z.string().min(1), enabled: z.boolean() }) },
      },
      async (request) => skillsOf(scopeOf(ctx, request)).setEnabled(request.body.path, request.body.enabled),
    )
  }
}

/**
 * The original's request models as pydantic checked them, in their declaration order (the seed's README shows
 * some of their fields; its source, app/models/*.py of the original Codex Agent Server, has them all):
 * app-server's params, camelCase, none of them `extra="forbid"`. `input` is a list of TurnInput models (`type`
 * one of text, image, localImage, skill, mention; `text`, `url`, `path`, `name` optional strings) and
 * `sandboxPolicy` a SandboxPolicy model, checked as pydantic checked them (an item of another type is its 422
 * `literal_error`); what the gateway itself refuses of what they accept (a skill or mention item) is its 400.
 * `includeTurns` and `forceReload` default to false and, not Optional, refuse null.
 */
const turnInput = {
  type: { kind: 'literal', values: ['text', 'image', 'localImage', 'skill', 'mention'], required: true },
  text: { kind: 'str', nullable: true },
  url: { kind: 'str', nullable: true },
  path: { kind: 'str', nullable: true },
  name: { kind: 'str', nullable: true },
} satisfies PydanticModel
const sandboxPolicy = {
  type: { kind: 'str', required: true },
  writableRoots: { kind: 'list_of_str', nullable: true },
  networkAccess: { kind: 'bool', nullable: true },
} satisfies PydanticModel
const models = {
  threadStart: {
    model: { kind: 'str', nullable: true },
    cwd: { kind: 'str', nullable: true },
    approvalPolicy: { kind: 'str', nullable: true },
    sandbox: { kind: 'str', nullable: true },
    personality: { kind: 'str', nullable: true },
  },
  threadResume: { threadId: { kind: 'str', required: true }, personality: { kind: 'str', nullable: true } },
  threadId: { threadId: { kind: 'str', required: true } },
  threadRead: { threadId: { kind: 'str', required: true }, includeTurns: { kind: 'bool' } },
  turnStart: {
    threadId: { kind: 'str', required: true },
    input: { kind: 'list_of_model', className: 'TurnInput', model: turnInput, required: true },
    cwd: { kind: 'str', nullable: true },
    approvalPolicy: { kind: 'str', nullable: true },
    sandboxPolicy: { kind: 'model', className: 'SandboxPolicy', model: sandboxPolicy, nullable: true },
    model: { kind: 'str', nullable: true },
    effort: { kind: 'str', nullable: true },
    summary: { kind: 'str', nullable: true },
    personality: { kind: 'str', nullable: true },
    outputSchema: { kind: 'dict', nullable: true },
  },
  skillsList: { cwds: { kind: 'list_of_str', nullable: true }, forceReload: { kind: 'bool' } },
  skillsConfigWrite: { path: { kind: 'str', required: true }, enabled: { kind: 'bool', required: true } },
} satisfies Record<string, PydanticModel>

/**
 * app-server's thread as the original's Thread model sent it (its response_model): these fields in this order,
 * pydantic's defaults for what app-server left out, nothing else of the record (its rollout `path`, the
 * `environments` with the server's real cwd, `status`, ...).
 */
function seedThread(own: Record<string, unknown>) {
  const int = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) ? v : null)
  return {
    id: typeof own.id === 'string' ? own.id : '',
    preview: typeof own.preview === 'string' ? own.preview : '',
    modelProvider: typeof own.modelProvider === 'string' ? own.modelProvider : null,
    createdAt: int(own.createdAt),
    updatedAt: int(own.updatedAt),
    turns: Array.isArray(own.turns) ? own.turns : null,
  }
}

/**
 * The turn's items as app-server records them (`thread/read`'s `agentMessage`, `commandExecution`, ... records, as
 * the original bridge's clients read them), found by codex's turn id; the gateway's own items (docs/events.md) only
 * for a turn codex never started or an agent without such a record.
 */
async function recordedItems(
  sessions: TenantScope['sessions'],
  sessionId: string,
  turn: Turn,
): Promise<unknown[]> {
  if (turn.agentTurnId) {
    // a history too long to read (CODEX_HISTORY_MAX_BYTES) still answers the turn that ran: with the gateway's items
    const read = (await sessions.read(sessionId, true).catch((err: unknown) => {
      if (isOverlongAnswer(err)) return undefined
      throw err
    })) as { thread?: { turns?: { id?: string; items?: unknown }[] } } | undefined
    const recorded = read?.thread?.turns?.find((t) => t.id === turn.agentTurnId)?.items
    if (Array.isArray(recorded)) return recorded
  }
  return sessions.itemsOfTurn(sessionId, turn.id)
}

/** app-server's turn status names. */
const seedStatus = (t: Turn) => (t.status === 'running' || t.status === 'queued' ? 'inProgress' : t.status)
