import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { finalResponseOf, startCodexExecJson } from '../../core/codex-exec-json.js'
import type { GatewayContext } from '../../core/context.js'
import type { TenantScope } from '../../core/tenancy/tenancy.js'
import { AppError } from '../../protocol/errors.js'
import type { RunCompletedEvent } from '../../protocol/events.js'
import { sandboxMode } from '../../protocol/policies.js'
import { clientSignal } from '../client-signal.js'
import { SseWriter } from '../sse.js'
import { scopeOf } from '../tenant-scope.js'
import { fastapiBody, type PydanticModel } from './fastapi-body.js'
import { fastapiContentTypes } from './fastapi-content-type.js'
import { promptField } from './prompt-field.js'

/**
 * Seed 002 (a FastAPI wrapper around `codex exec --json`): POST /api/codex/stream sends every codex JSONL event
 * verbatim as an SSE `data:` line, in order, until codex exits; POST /api/codex/run answers
 * {events, final_response} (the text of the last agent_message, or null). Both carry codex's OWN event JSON,
 * not the normalized events. A stdout line that is not a JSON object is kept as {"type":"agent.raw","line"}.
 * When codex exits non-zero having written to stderr, both end, as the original, with
 * {"type":"error","message":"Codex process failed: <stderr>"}, whether or not codex emitted events first: /run
 * still answers 200. A body the original's pydantic model refused is its 422 `{"detail": [...]}` (fastapi-body.ts).
 * Differences from the seed: `sandbox` defaults to CODEX_SANDBOX (read-only) where the seed used
 * workspace-write, and danger-full-access needs ALLOW_DANGER_FULL_ACCESS; `working_directory` defaults to
 * WORKSPACE_DIR and must stay inside the workspace roots (400). Both routes end codex after TIMEOUT_SECONDS:
 * the stream then sends {"type":"error","message":"timed out after Ns"} and closes, /run answers 408.
 * On shutdown the stream ends with an `error` event too and /run answers 503.
 * A client that disconnects ends codex. Without `model` (or with "auto") CODEX_MODEL applies, then codex's own
 * default, as on every other route. `model`, `sandbox` and `working_directory` may be
 * null, meaning absent, as the original's Optional fields (its page sends null for an empty box). `images`, the
 * original's image paths for `codex exec --image`, are /v1's: each a file inside the workspace roots (relative to
 * the working directory), else 400; codex reads a private copy of each (core/staged-images.ts). `output_schema`
 * (a JSON object; `{}` is absent, as the original's `if output_schema:`) reaches codex as the original's
 * `--output-schema <file>`, from a file private to the run; longer than 128 KiB as JSON, or with a `$ref` outside
 * itself (a file, a URL), it is the 400.
 * `approval_policy` is accepted (any string, as pydantic's `str`) and ignored, as the original did: `codex exec` has
 * no approvals. The stream sends a `: keep-alive` comment every SSE_KEEPALIVE_SECONDS while codex is silent, which
 * the original did not; SSE readers (the seed's own page included) skip comment lines.
 */
export function codexStreamingRoutes(ctx: GatewayContext): FastifyPluginAsyncZod {
  const config = {
    errorShape: 'fastapi' as const,
    framework: 'fastapi' as const,
    pydantic: codexRequest,
    anyOrigin: true as const,
  }
  const timeoutSeconds = ctx.config.TIMEOUT_SECONDS
  // comments the original never sent (its StreamingResponse wrote only `data:` frames); an SSE reader skips them
  const keepAliveMs = ctx.config.SSE_KEEPALIVE_SECONDS * 1000
  const body = z.object({
    prompt: promptField(
      ctx.config.MAX_PROMPT_CHARS,
      'prompt must contain more than whitespace (codex reads none)',
    ),
    // null as absent (pydantic's Optional): the seed's own page sends `model: null` and `working_directory: null`
    // when those boxes are left empty
    model: z.string().nullish(),
    sandbox: sandboxMode.nullish(),
    working_directory: z.string().nullish(),
    skip_git_repo_check: z.boolean().default(true),
    // the original's "image paths to attach" (`codex exec --image`): confined to the workspace as /v1's images
    images: z.array(z.string()).max(16, 'at most 16 images').nullish(),
    // the original's "JSON schema for structured output", passed as `codex exec --output-schema <file>` when not
    // empty (its `if output_schema:`); its size is bounded and its `$ref`s stay within it (core/output-schema.ts)
    output_schema: z.record(z.string(), z.unknown()).nullish(),
    // the original's approval policy (default "on-failure"): any string, never passed to codex (its wrapper had
    // `-a` commented out: "not available in 'codex exec'"); `codex exec` runs with approval `never` whatever
    // `-c approval_policy` says, so the run's sandbox is all that bounds it (docs/ARCHITECTURE.md)
    approval_policy: z.string().nullish(),
  })

  /** Checks the request and codex, and starts the run (core); throws before anything is spawned. */
  const prepare = (scope: TenantScope, b: z.infer<typeof body>, origin: string) =>
    startCodexExecJson(scope, {
      prompt: b.prompt,
      model: b.model ?? undefined,
      sandbox: b.sandbox ?? undefined,
      workingDirectory: b.working_directory ?? undefined,
      skipGitRepoCheck: b.skip_git_repo_check,
      images: b.images ?? undefined,
      outputSchema:
        b.output_schema && Object.keys(b.output_schema).length > 0
          ? { schema: b.output_schema, field: 'output_schema' }
          : undefined,
      origin,
      timeoutMs: timeoutSeconds * 1000,
    })

  return async (app) => {
    fastapiContentTypes(app)
    fastapiBody(app)
    app.post('/api/codex/stream', { config, schema: { body } }, async (request, reply) => {
      const run = await prepare(scopeOf(ctx, request), request.body, 'POST /api/codex/stream')
      const clientGone = new AbortController()
      const out = new SseWriter(reply, () => clientGone.abort('client_gone'), { keepAliveMs })
      try {
        for await (const chunk of run(clientGone.signal)) {
          if ('json' in chunk) {
            await out.write({ data: chunk.json })
          } else {
            const message = endMessage(chunk.completed, timeoutSeconds)
            const failed = processFailed(chunk.completed, chunk.stderr)
            if (message) await out.write({ data: { type: 'error', message } })
            else if (failed) await out.write({ data: failed })
          }
        }
      } finally {
        out.end()
      }
    })

    app.post(
      '/api/codex/run',
      {
        config,
        schema: {
          body,
          response: {
            200: z.object({
              events: z.array(z.record(z.string(), z.unknown())),
              final_response: z.string().nullable(),
            }),
          },
        },
      },
      async (request, reply) => {
        const run = await prepare(scopeOf(ctx, request), request.body, 'POST /api/codex/run')
        const events: Record<string, unknown>[] = []
        for await (const chunk of run(clientSignal(reply.raw))) {
          if ('json' in chunk) events.push(chunk.event)
          else {
            throwIfEndedEarly(chunk.completed, timeoutSeconds)
            const failed = processFailed(chunk.completed, chunk.stderr)
            if (failed) events.push(failed)
          }
        }
        return { events, final_response: finalResponseOf(events) }
      },
    )
  }
}

/**
 * The original's CodexRequest as pydantic checked it (the fields its README leaves out, `images`,
 * `approval_policy` and `output_schema`, too: a wrong type there was a 422; `images` and `output_schema` are
 * honoured, `approval_policy` is ignored, as the original ignored it).
 */
const codexRequest: PydanticModel = {
  prompt: { kind: 'str', required: true },
  working_directory: { kind: 'str', nullable: true },
  skip_git_repo_check: { kind: 'bool' },
  images: { kind: 'list_of_str', nullable: true },
  model: { kind: 'str', nullable: true },
  sandbox: { kind: 'str', nullable: true },
  approval_policy: { kind: 'str', nullable: true },
  output_schema: { kind: 'dict', nullable: true },
}

/**
 * The event the original appended when codex exited non-zero and wrote to stderr, whether or not it had emitted
 * events: {"type":"error","message":"Codex process failed: <its stderr>"}; null otherwise (a failure with nothing
 * on stderr added nothing there either).
 */
function processFailed(completed: RunCompletedEvent, stderr: string): Record<string, unknown> | null {
  if (completed.reason !== 'exited' || completed.exitCode === 0 || !stderr) return null
  return { type: 'error', message: `Codex process failed: ${stderr}` }
}

/** What the stream says before closing when the run did not end on its own; null when codex just exited. */
function endMessage(completed: RunCompletedEvent, timeoutSeconds: number): string | null {
  switch (completed.reason) {
    case 'timed_out':
      return `timed out after ${timeoutSeconds}s`
    case 'shutdown':
      return 'the server is shutting down; codex was ended'
    case 'spawn_failed':
      return completed.error ?? 'codex could not be started'
    default:
      return null
  }
}

function throwIfEndedEarly(completed: RunCompletedEvent, timeoutSeconds: number): void {
  if (completed.reason === 'timed_out')
    throw new AppError(
      'timed_out',
      `codex did not finish within TIMEOUT_SECONDS=${timeoutSeconds}s; its process group was ended. Raise TIMEOUT_SECONDS for longer tasks.`,
    )
  if (completed.reason === 'shutdown')
    throw new AppError(
      'shutting_down',
      'the server is shutting down; the run was ended. Retry against a running server.',
    )
  if (completed.reason === 'spawn_failed')
    throw new AppError('agent_failed', completed.error ?? 'codex could not be started')
}
