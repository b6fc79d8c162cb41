import { existsSync } from 'node:fs'
import path from 'node:path'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { GatewayContext } from '../../core/context.js'
import { Skills } from '../../core/skills.js'
import type { TenantScope } from '../../core/tenancy/tenancy.js'
import { AppError } from '../../protocol/errors.js'
import { approvalPolicy, sandboxMode } from '../../protocol/policies.js'
import type { Session, Turn } from '../../protocol/sessions.js'
import { scopeOf } from '../tenant-scope.js'
import { fastapiBody, type PydanticModel } from './fastapi-body.js'
import { fastapiContentTypes } from './fastapi-content-type.js'

/**
 * Seed 003 (Codex Agent Server, a REST bridge to `codex app-server`): /api/thread/start|resume|read|fork,
 * /api/turn/start (waits for the turn, bounded by CODEX_REQUEST_TIMEOUT), /api/skills/list,
 * /api/skills/config/write. Thread ids are codex's own; every thread is a gateway session, so its turns are
 * stored and visible on /v1/sessions too. Errors answer FastAPI's `{detail}`; a body the original's pydantic
 * models refused (not JSON, not an object, missing, a required field missing, a wrong type) is its 422
 * `{"detail": [...]}` (fastapi-body.ts), what only the gateway refuses (an empty threadId, an input that is not
 * text, a cwd outside the workspace, an approvalPolicy or sandbox codex does not know) a 400. Fields the
 * original's models had are accepted; `sandbox` (thread/start) and `approvalPolicy` (turn/start, that turn only)
 * are honoured, the rest ignored (docs/ARCHITECTURE.md, seed routes); unknown fields are ignored, as pydantic did.
 * The seed ran in a container with the workspace at /workspace: a `cwd` of /workspace[/sub] that does not
 * exist here means WORKSPACE_DIR[/sub]. An optional field sent as null counts as absent (codex's own params are
 * nullable).
 */
const threadId = z.object({ threadId: z.string().min(1) })
const textInput = z.array(z.object({ type: z.literal('text'), text: z.string().min(1) })).min(1)

export function codexAgentServerRoutes(ctx: GatewayContext): FastifyPluginAsyncZod {
  const base = { errorShape: 'fastapi' as const, framework: 'fastapi' as const, anyOrigin: true as const }
  const config = (pydantic: PydanticModel) => ({ ...base, pydantic })
  const agent = 'codex'
  /**
   * The original's Thread model, every field of it as its response_model sent them: `modelProvider`, `updatedAt`
   * and `turns` are app-server's own (its thread/read: what the original passed on from thread/start, resume and
   * fork), `turns` listed only `withTurns` (resume, fork), empty otherwise, as app-server's thread/start.
   */
  const thread = async (scope: TenantScope, s: Session, withTurns: boolean) => {
    const own = await appServerThread(scope.sessions, s.id, withTurns)
    return {
      id: s.agentSessionId,
      preview: (await scope.sessions.turns(s.id))[0]?.input[0]?.text ?? '',
      modelProvider: typeof own.modelProvider === 'string' ? own.modelProvider : null,
      createdAt: Math.floor(Date.parse(s.createdAt) / 1000),
      updatedAt: typeof own.updatedAt === 'number' ? own.updatedAt : null,
      turns: withTurns && Array.isArray(own.turns) ? own.turns : [],
    }
  }
  const seedCwd = (scope: TenantScope, cwd: string | undefined) => {
    if (!cwd || existsSync(cwd) || !/^\/workspace(\/|$)/.test(cwd)) return cwd
    return path.join(scope.config.WORKSPACE_DIR, cwd.slice('/workspace'.length))
  }
  // Every path is confined (core/skills.ts); unknown fields are refused rather than passed to codex.
  const skillsOf = (scope: TenantScope) => new Skills(scope.sessions, scope.config, agent)

  return async (app) => {
    fastapiContentTypes(app)
    fastapiBody(app)
    app.post(
      '/api/thread/start',
      {
        config: config(models.threadStart),
        schema: {
          tags: ['codex agent server (seed 003)'],
          body: z.object({
            model: z.string().nullish(),
            cwd: z.string().nullish(),
            approvalPolicy: approvalPolicy.nullish(),
            sandbox: sandboxMode.nullish(),
          }),
        },
      },
      async (request) => {
        const scope = scopeOf(ctx, request)
        const { cwd, approvalPolicy: policy, model, sandbox } = request.body
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
      url: string,
      pydantic: PydanticModel,
      act: (sessions: TenantScope['sessions'], id: string) => Promise<Session>,
    ) =>
      app.post(url, { config: config(pydantic), schema: { body: threadId } }, async (request) => {
        const scope = scopeOf(ctx, request)
        const s = await scope.sessions.byAgentSessionId(request.body.threadId)
        return { thread: await thread(scope, await act(scope.sessions, s.id), true) }
      })

    threadAction('/api/thread/resume', models.threadResume, (sessions, id) => sessions.resume(id))

    app.post(
      '/api/thread/read',
      {
        config: config(models.threadRead),
        schema: { body: threadId.extend({ includeTurns: z.boolean().default(false) }) },
      },
      async (request) => {
        const { sessions } = scopeOf(ctx, request)
        const s = await sessions.byAgentSessionId(request.body.threadId)
        return sessions.read(s.id, request.body.includeTurns)
      },
    )

    threadAction('/api/thread/fork', models.threadId, (sessions, id) => sessions.fork(id))

    app.post(
      '/api/turn/start',
      {
        config: config(models.turnStart),
        schema: { body: threadId.extend({ input: textInput, approvalPolicy: approvalPolicy.nullish() }) },
      },
      async (request) => {
        const { sessions } = scopeOf(ctx, request)
        const s = await sessions.byAgentSessionId(request.body.threadId)
        const policy = request.body.approvalPolicy
        const started = await sessions.startTurn(
          s.id,
          request.body.input,
          'queue',
          policy ? { approvalPolicy: policy } : {},
        )
        const timeoutSeconds = ctx.config.CODEX_REQUEST_TIMEOUT
        const ended = await sessions.waitTurn(started.id, timeoutSeconds * 1000)
        if (ended.status === 'queued' || ended.status === 'running')
          throw new AppError(
            'timed_out',
            `the turn did not finish within CODEX_REQUEST_TIMEOUT=${timeoutSeconds}s; it goes on: follow /v1/sessions/${s.id}/events`,
          )
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
 * app-server's params, camelCase, none of them `extra="forbid"`. `input` is a list of TurnInput objects
 * (`type` one of text, image, localImage, skill, mention) and `sandboxPolicy` a SandboxPolicy object, here
 * checked as objects; their content the gateway checks. `includeTurns` and `forceReload` default to false and,
 * not Optional, refuse null.
 */
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
    input: { kind: 'list_of_dict', required: true },
    cwd: { kind: 'str', nullable: true },
    approvalPolicy: { kind: 'str', nullable: true },
    sandboxPolicy: { kind: 'dict', nullable: true },
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
 * app-server's own record of a thread (thread/read), `turns` included when asked; the fields the seed's Thread
 * model adds to the gateway's. A thread/read that fails leaves them null (the original's model allowed None):
 * the thread was started, resumed or forked all the same.
 */
async function appServerThread(
  sessions: TenantScope['sessions'],
  sessionId: string,
  includeTurns: boolean,
): Promise<{ modelProvider?: unknown; updatedAt?: unknown; turns?: unknown }> {
  try {
    const read = (await sessions.read(sessionId, includeTurns)) as { thread?: Record<string, unknown> }
    return read?.thread ?? {}
  } catch {
    return {}
  }
}

/** app-server's turn status names. */
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
    const read = (await sessions.read(sessionId, true)) as {
      thread?: { turns?: { id?: string; items?: unknown }[] }
    }
    const recorded = read?.thread?.turns?.find((t) => t.id === turn.agentTurnId)?.items
    if (Array.isArray(recorded)) return recorded
  }
  return sessions.itemsOfTurn(sessionId, turn.id)
}

const seedStatus = (t: Turn) => (t.status === 'running' || t.status === 'queued' ? 'inProgress' : t.status)
