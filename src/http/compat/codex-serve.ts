import { constants } from 'node:os'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { GatewayContext } from '../../core/context.js'
import { startRun } from '../../core/one-shot.js'
import { LineSplitter } from '../../process/line-splitter.js'
import { codexStartsInteractive } from '../../process/policy.js'
import { AppError } from '../../protocol/errors.js'
import { NdjsonWriter } from '../ndjson.js'
import { scopeOf } from '../tenant-scope.js'
import { fastapiBody, type PydanticModel } from './fastapi-body.js'
import { fastapiContentTypes, fastapiNdjson } from './fastapi-content-type.js'

/**
 * Seed 001 (codex.serve, behind a Gerrit plugin): POST /run streams an allowlisted CLI's output as NDJSON
 * frames {"type":"stdout"|"stderr","data"} then {"type":"exit","code"}; GET /clis and GET /models.
 * As the original, each stdout/stderr frame is one line of the CLI's output with its "\n" (a last line without
 * one comes when its stream ends), whatever chunks the process wrote; GET /clis lists CLI_LIST sorted and
 * without duplicates. On RUN_RESPONSE_TIMEOUT_SECONDS the stream ends with a stderr message naming the limit as
 * Python printed it ("(300.0s)") and exit code 124. Optional fields may be null (pydantic's Optional).
 * `codex` with args that name no subcommand (the seed's own example, `["--model", "gpt-4"]` with the prompt on
 * stdin, and what its Gerrit plugin sends) runs as `codex exec --skip-git-repo-check <args>`, as the seed's CLI image
 * ran it without a terminal; in Docker mode the seed's image puts the `exec` itself, so the args go unchanged and
 * the policy judges them as that image runs them (`exec <args>`: what `codex exec` may not do stays refused).
 * Errors are the original's (a FastAPI app): `{"detail": ...}`; a body its RunRequest model refused is its 422
 * `{"detail": [...]}` (fastapi-body.ts), a `cli` not in CLI_LIST its 400 `{"detail": "Unsupported CLI: <cli>"}`;
 * what only the gateway refuses (an argument, an env name, a cwd) is a 400 `{detail}` in words, before anything runs.
 */
const runBody = z.object({
  // any string: one not in CLI_LIST (an empty one too) is the original's "Unsupported CLI" 400
  cli: z.string(),
  args: z.array(z.string().max(100_000)).max(1000).default([]),
  stdin: z.string().nullish(),
  env: z.record(z.string(), z.string()).nullish(),
  /** Extension: a working directory inside the workspace roots (default WORKSPACE_DIR). */
  cwd: z.string().nullish(),
})

export function codexServeRoutes(ctx: GatewayContext): FastifyPluginAsyncZod {
  const config = { errorShape: 'fastapi' as const, framework: 'fastapi' as const }
  return async (app) => {
    fastapiContentTypes(app)
    fastapiBody(app)
    const clis = [...new Set(ctx.config.CLI_LIST)].sort()
    // no HEAD routes: the FastAPI original's `@app.get` answers HEAD 405 with Allow: GET
    const listing = { config, exposeHeadRoute: false }
    app.get('/clis', listing, async () => ({ clis, count: clis.length }))
    app.get('/models', listing, async () => ({
      models: ctx.config.MODEL_LIST,
      count: ctx.config.MODEL_LIST.length,
    }))

    app.post(
      '/run',
      { config: { ...config, pydantic: runRequest }, schema: { body: runBody } },
      async (request, reply) => {
        const { cli, stdin, cwd } = request.body
        const env = request.body.env ?? {}
        // seed 001's Docker mode: every request in a fresh container of CODEX_DOCKER_IMAGE
        const image = ctx.config.CODEX_DOCKER_IMAGE
        const asked = request.body.args
        const noSubcommand = cli === 'codex' && codexStartsInteractive(asked)
        const args = noSubcommand && !image ? ['exec', '--skip-git-repo-check', ...asked] : asked
        const timeoutSeconds = ctx.config.RUN_RESPONSE_TIMEOUT_SECONDS
        // The cli policy (CLI_LIST, args, env, installed) and the cwd are checked where every cli run is:
        // RunManager.submit, which throws before anything is spawned or streamed.
        const follow = await unsupportedAsOriginal(cli, () =>
          startRun(
            scopeOf(ctx, request).runs,
            'cli',
            {
              ...(cwd != null ? { cwd } : {}),
              command: { cli, args, env, ...(stdin != null ? { stdin } : {}) },
              ...(image ? { isolation: 'container' as const, image } : {}),
            },
            {
              origin: 'POST /run',
              timeoutMs: timeoutSeconds ? timeoutSeconds * 1000 : null,
              ...(noSubcommand && image ? { policyArgs: ['exec', ...asked] } : {}),
            },
          ),
        )
        const clientGone = new AbortController()
        const out = new NdjsonWriter(reply, () => clientGone.abort('client_gone'), {
          'content-type': fastapiNdjson,
        })
        const lines = { stdout: lineFrames(), stderr: lineFrames() }
        for await (const ev of follow(clientGone.signal)) {
          // a raw cli run yields output and its completion; nothing else is part of a /run answer
          if (ev.type === 'output')
            for (const data of lines[ev.stream].push(ev.data)) await out.write({ type: ev.stream, data })
          else if (ev.type === 'run.completed') {
            for (const stream of ['stdout', 'stderr'] as const) {
              for (const data of lines[stream].end()) await out.write({ type: stream, data })
            }
            if (ev.reason === 'timed_out') {
              await out.write({
                type: 'stderr',
                data: `Request timed out while waiting for CLI response (${pythonFloat(timeoutSeconds ?? 0)}s).`,
              })
              await out.write({ type: 'exit', code: 124 })
            } else {
              if (ev.reason !== 'exited' && ev.error)
                await out.write({ type: 'stderr', data: `${ev.error}\n` })
              await out.write({ type: 'exit', code: exitCodeOf(ev.exitCode, ev.signal) })
            }
          }
        }
        out.end()
      },
    )
  }
}

/**
 * The original's RunRequest as pydantic checked it: `cli` and `args` required (`str`, `List[str]`), `stdin` a
 * `str`, `env` an `Optional[Dict[str, str]]`; unknown fields ignored. Where the gateway takes more, on purpose:
 * `args` and `stdin` may be left out (none, nothing on stdin), `stdin` may be null, and `cwd` is its own.
 */
const runRequest: PydanticModel = {
  cli: { kind: 'str', required: true },
  args: { kind: 'list_of_str' },
  stdin: { kind: 'str', nullable: true },
  env: { kind: 'dict_of_str', nullable: true },
  cwd: { kind: 'str', nullable: true },
}

/** A `cli` the CLI_LIST policy refused, in the original's words (`HTTPException(400, f"Unsupported CLI: {cli}")`). */
async function unsupportedAsOriginal<T>(cli: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start()
  } catch (err) {
    if (err instanceof AppError && err.code === 'unknown_cli')
      throw new AppError('unknown_cli', `Unsupported CLI: ${cli}`, undefined, { cause: err })
    throw err
  }
}

/** A stream's output cut into frames of one line each, with its newline; a line past 1 MiB is cut into frames. */
const lineFrames = () => new LineSplitter(1024 * 1024, { keepEnds: true })

/** A number as Python's str(float) prints it: 300 -> "300.0", 0.5 -> "0.5". */
const pythonFloat = (n: number) => (Number.isInteger(n) ? n.toFixed(1) : String(n))

/** Shell convention for a process ended by a signal: 128 + signal number. */
function exitCodeOf(exitCode: number | null, signal: string | null): number {
  if (exitCode !== null) return exitCode
  const num = signal ? constants.signals[signal as keyof typeof constants.signals] : undefined
  return num ? 128 + num : 1
}
