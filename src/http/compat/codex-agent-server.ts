import { existsSync } from 'node:fs'
import path from 'node:path'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { GatewayContext } from '../../core/context.js'
import { Skills } from '../../core/skills.js'
import { AppError } from '../../protocol/errors.js'
import { approvalPolicy } from '../../protocol/policies.js'
import type { Session, Turn } from '../../protocol/sessions.js'

/**
 * Seed 003 (Codex Agent Server, a REST bridge to `codex app-server`): /api/thread/start|resume|read|fork,
 * /api/turn/start (waits for the turn, bounded by CODEX_REQUEST_TIMEOUT), /api/skills/list,
 * /api/skills/config/write. Thread ids are codex's own; every thread is a gateway session, so its turns are
 * stored and visible on /v1/sessions too. Errors answer FastAPI's `{detail}`.
 * The seed ran in a container with the workspace at /workspace: a `cwd` of /workspace[/sub] that does not
 * exist here means WORKSPACE_DIR[/sub].
 */
const threadId = z.object({ threadId: z.string().min(1) })
const textInput = z.array(z.object({ type: z.literal('text'), text: z.string().min(1) })).min(1)

export function codexAgentServerRoutes(ctx: GatewayContext): FastifyPluginAsyncZod {
  const config = { errorShape: 'fastapi' as const }
  const agent = 'codex'
  const thread = async (s: Session) => ({
    id: s.agentSessionId,
    preview: (await ctx.sessions.turns(s.id))[0]?.input[0]?.text ?? '',
    createdAt: Math.floor(Date.parse(s.createdAt) / 1000),
  })
  const seedCwd = (cwd: string | undefined) => {
    if (!cwd || existsSync(cwd) || !/^\/workspace(\/|$)/.test(cwd)) return cwd
    return path.join(ctx.config.WORKSPACE_DIR, cwd.slice('/workspace'.length))
  }

  return async (app) => {
    app.post(
      '/api/thread/start',
      {
        config,
        schema: {
          tags: ['codex agent server (seed 003)'],
          body: z
            .object({
              cwd: z.string().optional(),
              approvalPolicy: approvalPolicy.optional(),
              model: z.string().optional(),
            })
            .default({}),
        },
      },
      async (request) => {
        const { cwd, approvalPolicy: policy, model } = request.body
        const created = await ctx.sessions.create(agent, {
          ...(seedCwd(cwd) ? { cwd: seedCwd(cwd)! } : {}),
          ...(policy ? { approvalPolicy: policy } : {}),
          ...(model ? { model } : {}),
        })
        return { thread: await thread(created) }
      },
    )

    app.post('/api/thread/resume', { config, schema: { body: threadId } }, async (request) => {
      const s = await ctx.sessions.byAgentSessionId(request.body.threadId)
      return { thread: await thread(await ctx.sessions.resume(s.id)) }
    })

    app.post(
      '/api/thread/read',
      { config, schema: { body: threadId.extend({ includeTurns: z.boolean().default(false) }) } },
      async (request) => {
        const s = await ctx.sessions.byAgentSessionId(request.body.threadId)
        return ctx.sessions.read(s.id, request.body.includeTurns)
      },
    )

    app.post('/api/thread/fork', { config, schema: { body: threadId } }, async (request) => {
      const s = await ctx.sessions.byAgentSessionId(request.body.threadId)
      return { thread: await thread(await ctx.sessions.fork(s.id)) }
    })

    app.post(
      '/api/turn/start',
      { config, schema: { body: threadId.extend({ input: textInput }) } },
      async (request) => {
        const s = await ctx.sessions.byAgentSessionId(request.body.threadId)
        const started = await ctx.sessions.startTurn(s.id, request.body.input, 'queue')
        const timeoutSeconds = ctx.config.CODEX_REQUEST_TIMEOUT
        const ended = await ctx.sessions.waitTurn(started.id, timeoutSeconds * 1000)
        if (ended.status === 'queued' || ended.status === 'running')
          throw new AppError(
            'timed_out',
            `the turn did not finish within CODEX_REQUEST_TIMEOUT=${timeoutSeconds}s; it goes on: follow /v1/sessions/${s.id}/events`,
          )
        return {
          turn: {
            id: ended.agentTurnId ?? ended.id,
            status: seedStatus(ended),
            items: await ctx.sessions.itemsOfTurn(s.id, ended.id),
            ...(ended.error ? { error: ended.error } : {}),
          },
        }
      },
    )

    // Every path is confined (core/skills.ts); unknown fields are refused rather than passed to codex.
    const skills = new Skills(ctx.sessions, ctx.config, agent)
    app.post(
      '/api/skills/list',
      {
        config,
        schema: {
          body: z
            .strictObject({
              cwds: z.array(z.string().min(1)).max(64).optional(),
              forceReload: z.boolean().optional(),
            })
            .default({}),
        },
      },
      async (request) =>
        skills.list(
          request.body.cwds?.map((c) => seedCwd(c) ?? c),
          request.body.forceReload,
        ),
    )

    app.post(
      '/api/skills/config/write',
      { config, schema: { body: z.strictObject({ path: z.string().min(1), enabled: z.boolean() }) } },
      async (request) => skills.setEnabled(request.body.path, request.body.enabled),
    )
  }
}

/** app-server's turn status names. */
const seedStatus = (t: Turn) => (t.status === 'running' || t.status === 'queued' ? 'inProgress' : t.status)
