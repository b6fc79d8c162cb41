import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { GatewayContext } from '../../core/context.js'
import { runToCompletion } from '../../core/one-shot.js'
import type { TenantScope } from '../../core/tenancy/tenancy.js'
import { AppError } from '../../protocol/errors.js'
import type { AgentEvent, OutputEvent, RunCompletedEvent } from '../../protocol/events.js'
import { clientSignal } from '../client-signal.js'
import { scopeOf } from '../tenant-scope.js'
import { fastapiContentTypes } from './fastapi-content-type.js'
import { promptField } from './prompt-field.js'

/**
 * Seed 000 (the original plan): GET /hello asks the agent (AI_PROVIDER) for a random greeting as text/plain;
 * POST /chat {prompt} -> {stdout, stderr, returncode}. Errors: 408 timeout, 500 agent failed,
 * 503 not installed / not authenticated, as {error, details, provider}.
 */
export const greetingPrompt =
  'Reply with one short, friendly greeting chosen at random. Output only the greeting, nothing else.'

export function codexApiPlanRoutes(ctx: GatewayContext): FastifyPluginAsyncZod {
  const provider = ctx.config.AI_PROVIDER
  const config = { errorShape: 'codex-api-plan' as const, framework: 'fastapi' as const, provider }

  const runPrompt = async (
    scope: TenantScope,
    origin: string,
    prompt: string,
    cwd: string | undefined,
    model: string | undefined,
    signal: AbortSignal,
  ) => {
    const fields = { prompt, ...(cwd !== undefined ? { cwd } : {}), ...(model ? { model } : {}) }
    const { events, completed } = await runToCompletion(scope.runs, provider, fields, { origin }, signal)
    throwIfUnsuccessful(completed, ctx.config.TIMEOUT_SECONDS)
    return { completed, stderr: stderrOf(events) }
  }

  return async (app) => {
    fastapiContentTypes(app)
    // A GET that runs an agent: it needs the `run` scope, not the `read` a GET gets by default. No HEAD route:
    // a HEAD must never start a run, and the FastAPI original's `@app.get` answers HEAD 405 with Allow: GET.
    const hello = {
      config: { ...config, scope: 'run' as const },
      exposeHeadRoute: false,
      schema: { response: { 200: z.string() } },
    }
    app.get('/hello', hello, async (request, reply) => {
      const { completed } = await runPrompt(
        scopeOf(ctx, request),
        'GET /hello',
        greetingPrompt,
        undefined,
        undefined,
        clientSignal(reply.raw),
      )
      return reply.type('text/plain; charset=utf-8').send((completed.finalResponse ?? '').trim())
    })

    app.post(
      '/chat',
      {
        config,
        schema: {
          body: z.object({
            prompt: promptField(ctx.config.MAX_PROMPT_CHARS, 'prompt must contain more than whitespace'),
            cwd: z.string().nullish(),
            model: z.string().nullish(),
          }),
          response: {
            200: z.object({ stdout: z.string(), stderr: z.string(), returncode: z.number().int() }),
          },
        },
      },
      async (request, reply) => {
        const { prompt, cwd, model } = request.body
        const { completed, stderr } = await runPrompt(
          scopeOf(ctx, request),
          'POST /chat',
          prompt,
          cwd ?? undefined,
          model ?? undefined,
          clientSignal(reply.raw),
        )
        return { stdout: execStdout(completed.finalResponse), stderr, returncode: completed.exitCode ?? 0 }
      },
    )
  }
}

function throwIfUnsuccessful(completed: RunCompletedEvent, timeoutSeconds: number): void {
  if (completed.status === 'succeeded') return
  if (completed.reason === 'shutdown')
    throw new AppError(
      'shutting_down',
      'the server is shutting down; the run was ended. Retry against a running server.',
    )
  if (completed.status === 'cancelled')
    throw new AppError(
      'conflict',
      `the run was cancelled before it finished (POST /v1/runs/:id/cancel, or the client left): ${completed.error ?? 'cancelled'}; send the request again`,
    )
  if (completed.status === 'timed_out')
    throw new AppError(
      'timed_out',
      `the agent did not finish within TIMEOUT_SECONDS=${timeoutSeconds}s; its process group was ended. Raise TIMEOUT_SECONDS for longer tasks.`,
    )
  throw new AppError(
    'agent_failed',
    `the agent ${completed.status} (exit code ${completed.exitCode ?? 'none'}${completed.signal ? `, signal ${completed.signal}` : ''}): ${completed.error ?? 'no details'}`,
  )
}

/**
 * The original's `stdout` was `codex exec`'s: the agent's last message printed as a line (with its newline), nothing
 * when there was none.
 */
const execStdout = (finalResponse: string | null) => (finalResponse == null ? '' : `${finalResponse}\n`)

const stderrOf = (events: AgentEvent[]) =>
  events
    .filter((e): e is OutputEvent => e.type === 'output' && e.stream === 'stderr')
    .map((e) => e.data)
    .join('')
