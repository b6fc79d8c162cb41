import { existsSync, statSync } from 'node:fs'
import path from 'node:path'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { GatewayContext } from '../../core/context.js'
import { ensureReady, startRun } from '../../core/one-shot.js'
import { checkSandbox } from '../../core/sandbox-policy.js'
import type { TenantScope } from '../../core/tenancy/tenancy.js'
import { resolveCwd } from '../../core/workspace.js'
import { AppError } from '../../protocol/errors.js'
import type { AgentEvent, RunCompletedEvent } from '../../protocol/events.js'
import { resolveModel } from '../../protocol/models.js'
import { sandboxMode } from '../../protocol/policies.js'
import { clientSignal } from '../client-signal.js'
import { SseWriter } from '../sse.js'
import { scopeOf } from '../tenant-scope.js'

/**
 * Seed 002 (a FastAPI wrapper around `codex exec --json`): POST /api/codex/stream sends every codex JSONL event
 * verbatim as an SSE `data:` line, in order, until codex exits; POST /api/codex/run answers
 * {events, final_response} (the text of the last agent_message, or null). Both carry codex's OWN event JSON,
 * not the normalized events. A stdout line that is not a JSON object is kept as {"type":"agent.raw","line"};
 * stderr is not part of either answer.
 * Differences from the seed: `sandbox` defaults to CODEX_SANDBOX (read-only) where the seed used
 * workspace-write, and danger-full-access needs ALLOW_DANGER_FULL_ACCESS; `working_directory` defaults to
 * WORKSPACE_DIR and must stay inside the workspace roots (400). Both routes end codex after TIMEOUT_SECONDS:
 * the stream then sends {"type":"error","message":"timed out after Ns"} and closes, /run answers 408.
 * On shutdown the stream ends with an `error` event too and /run answers 503. A failed codex run still answers
 * 200 with whatever codex emitted. A client that disconnects ends codex. Without `model` (or with "auto") CODEX_MODEL
 * applies, then codex's own default, as on every other route.
 */
export function codexStreamingRoutes(ctx: GatewayContext): FastifyPluginAsyncZod {
  const config = { errorShape: 'plain' as const }
  const timeoutSeconds = ctx.config.TIMEOUT_SECONDS
  const body = z.object({
    prompt: z
      .string()
      .min(1)
      .max(ctx.config.MAX_PROMPT_CHARS)
      .refine((p) => p.trim() !== '', 'prompt must contain more than whitespace (codex reads none)'),
    model: z.string().optional(),
    sandbox: sandboxMode.optional(),
    working_directory: z.string().optional(),
    skip_git_repo_check: z.boolean().default(true),
  })

  /** Checks the request and codex, and builds the run; throws before anything is spawned. */
  const prepare = async (scope: TenantScope, b: z.infer<typeof body>, origin: string) => {
    checkSandbox(b.sandbox, ctx.config)
    const sandbox = b.sandbox ?? ctx.config.CODEX_SANDBOX
    const cwd = resolveCwd(b.working_directory, scope.config.workspaceRoots)
    if (!b.skip_git_repo_check && !insideGitRepo(cwd))
      throw new AppError(
        'invalid_request',
        `working_directory ${cwd} is not inside a git repository, and codex refuses to run there; send "skip_git_repo_check": true (the default) or use a directory of a git repository`,
      )
    const model = resolveModel(b.model, ctx.config.CODEX_MODEL)
    await ensureReady(scope.registry.get('codex'))
    const args = [
      'exec',
      '--json',
      '--sandbox',
      sandbox,
      // one argument, so a model name that starts with "-" cannot be read as a flag
      ...(model ? [`--model=${model}`] : []),
      ...(b.skip_git_repo_check ? ['--skip-git-repo-check'] : []),
      '-',
    ]
    const follow = await startRun(
      scope.runs,
      'cli',
      { cwd, command: { cli: 'codex', args, stdin: b.prompt, env: {} } },
      { origin, timeoutMs: timeoutSeconds * 1000, builtCommand: true },
    )
    return (signal: AbortSignal) => codexOutput(follow(signal))
  }

  return async (app) => {
    app.post('/api/codex/stream', { config, schema: { body } }, async (request, reply) => {
      const run = await prepare(scopeOf(ctx, request), request.body, 'POST /api/codex/stream')
      const clientGone = new AbortController()
      const out = new SseWriter(reply, () => clientGone.abort('client_gone'))
      try {
        let emitted = false
        for await (const chunk of run(clientGone.signal)) {
          if ('json' in chunk) {
            emitted = true
            await out.write({ data: chunk.json })
          } else {
            const message = endMessage(chunk.completed, timeoutSeconds, emitted)
            if (message) await out.write({ data: { type: 'error', message } })
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
          else throwIfEndedEarly(chunk.completed, timeoutSeconds, events.length > 0)
        }
        return { events, final_response: finalResponseOf(events) }
      },
    )
  }
}

/** One codex stdout line: the JSON text to send and its parsed form. */
export interface CodexLine {
  json: string
  event: Record<string, unknown>
}

/**
 * Turns a `cli` run's events into codex's own JSONL events: stdout chunks are split into lines (a partial
 * line waits for the rest), each line is parsed; stderr is left out. Ends with the run's completion.
 */
export async function* codexOutput(
  events: AsyncIterable<AgentEvent>,
): AsyncGenerator<CodexLine | { completed: RunCompletedEvent }> {
  const lines = new LineSplitter()
  for await (const ev of events) {
    if (ev.type === 'output' && ev.stream === 'stdout') {
      for (const line of lines.push(ev.data)) {
        const parsed = parseCodexLine(line)
        if (parsed) yield parsed
      }
    } else if (ev.type === 'run.completed') {
      for (const line of lines.end()) {
        const parsed = parseCodexLine(line)
        if (parsed) yield parsed
      }
      yield { completed: ev }
    }
  }
}

/** Splits text chunks into lines, keeping a partial line until its newline arrives; runaway lines are cut. */
export class LineSplitter {
  private buffered = ''

  constructor(private readonly maxLineChars = 8 * 1024 * 1024) {}

  push(chunk: string): string[] {
    const parts = chunk.split('\n')
    const rest = parts.pop() ?? ''
    const lines = parts.length ? [this.buffered + parts[0], ...parts.slice(1)] : []
    this.buffered = parts.length ? rest : this.buffered + rest
    while (this.buffered.length > this.maxLineChars) {
      lines.push(this.buffered.slice(0, this.maxLineChars))
      this.buffered = this.buffered.slice(this.maxLineChars)
    }
    return lines.map(stripCr)
  }

  end(): string[] {
    const rest = this.buffered
    this.buffered = ''
    return rest ? [stripCr(rest)] : []
  }
}

/** A JSON object line as itself; any other non-blank line as {"type":"agent.raw","line"}; blank lines: null. */
export function parseCodexLine(line: string): CodexLine | null {
  const json = line.trim()
  if (!json) return null
  try {
    const event: unknown = JSON.parse(json)
    if (event && typeof event === 'object' && !Array.isArray(event))
      return { json, event: event as Record<string, unknown> }
  } catch {}
  const raw = { type: 'agent.raw', line }
  return { json: JSON.stringify(raw), event: raw }
}

/** The text of the last completed agent_message item, or null. */
export function finalResponseOf(events: Record<string, unknown>[]): string | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const ev = events[i]!
    const item = ev.type === 'item.completed' ? (ev.item as Record<string, unknown> | undefined) : undefined
    if (item?.type === 'agent_message' && typeof item.text === 'string') return item.text
  }
  return null
}

/** What the stream says before closing when the run did not end on its own; null when codex just exited. */
function endMessage(completed: RunCompletedEvent, timeoutSeconds: number, emitted: boolean): string | null {
  if (!emitted && completed.status === 'failed') return failedToStart(completed)
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

/** codex failed before it emitted any event: it refused to start, and its stderr says why. */
function failedToStart(completed: RunCompletedEvent): string {
  return `codex failed before emitting any event (exit code ${completed.exitCode ?? 'none'}): ${completed.error ?? 'no details'}`
}

/**
 * Walks up from `dir` looking for a git repository as git sees one: a `.git` directory with a HEAD, or a
 * `.git` file (worktrees, submodules). A stray empty `.git` directory is not one (codex refuses it too).
 */
function insideGitRepo(dir: string): boolean {
  for (let current = dir; ; current = path.dirname(current)) {
    const dotGit = path.join(current, '.git')
    if (existsSync(path.join(dotGit, 'HEAD'))) return true
    try {
      if (statSync(dotGit).isFile()) return true
    } catch {}
    if (path.dirname(current) === current) return false
  }
}

function throwIfEndedEarly(completed: RunCompletedEvent, timeoutSeconds: number, emitted: boolean): void {
  if (!emitted && completed.status === 'failed') throw new AppError('agent_failed', failedToStart(completed))
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

const stripCr = (line: string) => (line.endsWith('\r') ? line.slice(0, -1) : line)
