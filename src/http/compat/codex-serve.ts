import { constants } from 'node:os'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { GatewayContext } from '../../core/context.js'
import { startRun } from '../../core/one-shot.js'
import { NdjsonWriter } from '../ndjson.js'
import { scopeOf } from '../tenant-scope.js'

/**
 * Seed 001 (codex.serve, behind a Gerrit plugin): POST /run streams an allowlisted CLI's output as NDJSON
 * frames {"type":"stdout"|"stderr","data"} then {"type":"exit","code"}; GET /clis and GET /models.
 * On RUN_RESPONSE_TIMEOUT_SECONDS the stream ends with a stderr message and exit code 124.
 */
const runBody = z.object({
  cli: z.string().min(1),
  args: z.array(z.string().max(100_000)).max(1000).default([]),
  stdin: z.string().optional(),
  env: z.record(z.string(), z.string()).default({}),
  /** Extension: a working directory inside the workspace roots (default WORKSPACE_DIR). */
  cwd: z.string().optional(),
})

export function codexServeRoutes(ctx: GatewayContext): FastifyPluginAsyncZod {
  const config = { errorShape: 'plain' as const }
  return async (app) => {
    app.get('/clis', { config }, async () => ({
      clis: ctx.config.CLI_LIST,
      count: ctx.config.CLI_LIST.length,
    }))
    app.get('/models', { config }, async () => ({
      models: ctx.config.MODEL_LIST,
      count: ctx.config.MODEL_LIST.length,
    }))

    app.post('/run', { config, schema: { body: runBody } }, async (request, reply) => {
      const { cli, args, stdin, env, cwd } = request.body
      // seed 001's Docker mode: every request in a fresh container of CODEX_DOCKER_IMAGE
      const image = ctx.config.CODEX_DOCKER_IMAGE
      const timeoutSeconds = ctx.config.RUN_RESPONSE_TIMEOUT_SECONDS
      // The cli policy (CLI_LIST, args, env, installed) and the cwd are checked where every cli run is:
      // RunManager.submit, which throws before anything is spawned or streamed.
      const follow = await startRun(
        scopeOf(ctx, request).runs,
        'cli',
        {
          ...(cwd !== undefined ? { cwd } : {}),
          command: { cli, args, env, ...(stdin !== undefined ? { stdin } : {}) },
          ...(image ? { isolation: 'container' as const, image } : {}),
        },
        { origin: 'POST /run', timeoutMs: timeoutSeconds ? timeoutSeconds * 1000 : null },
      )
      const clientGone = new AbortController()
      const out = new NdjsonWriter(reply, () => clientGone.abort('client_gone'))
      for await (const ev of follow(clientGone.signal)) {
        // a raw cli run yields output and its completion; nothing else is part of a /run answer
        if (ev.type === 'output') await out.write({ type: ev.stream, data: ev.data })
        else if (ev.type === 'run.completed') {
          if (ev.reason === 'timed_out') {
            await out.write({
              type: 'stderr',
              data: `Request timed out while waiting for CLI response (${timeoutSeconds}s).`,
            })
            await out.write({ type: 'exit', code: 124 })
          } else {
            if (ev.reason !== 'exited' && ev.error) await out.write({ type: 'stderr', data: `${ev.error}\n` })
            await out.write({ type: 'exit', code: exitCodeOf(ev.exitCode, ev.signal) })
          }
        }
      }
      out.end()
    })
  }
}

/** Shell convention for a process ended by a signal: 128 + signal number. */
function exitCodeOf(exitCode: number | null, signal: string | null): number {
  if (exitCode !== null) return exitCode
  const num = signal ? constants.signals[signal as keyof typeof constants.signals] : undefined
  return num ? 128 + num : 1
}
