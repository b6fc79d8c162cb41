import { z } from 'zod'
import { limits } from './limits.js'
import { endReason, runEndStatus, runStatus, usage } from './outcome.js'
import { sandboxMode } from './policies.js'
import { webhookSpec } from './webhooks.js'

/** The durable run resource of the /v1 API. */
export const runRequestFields = z.object({
  /** What to ask the agent; required except for the `cli` agent, which runs `command`. */
  prompt: z.string().min(1).optional(),
  /** For the `cli` agent: an allowlisted CLI (CLI_LIST) with its args, stdin and env, under the /run policy. */
  command: z
    .object({
      cli: z.string().min(1),
      args: z.array(z.string()).max(1000).default([]),
      stdin: z.string().optional(),
      env: z.record(z.string(), z.string()).default({}),
    })
    .optional(),
  model: z.string().optional(),
  sandbox: sandboxMode.optional(),
  /** Relative to WORKSPACE_DIR, or absolute inside a workspace root. */
  cwd: z.string().optional(),
  skipGitRepoCheck: z.boolean().optional(),
  /** A JSON Schema the final response must follow; the parsed JSON becomes the run's `result`. */
  outputSchema: z.record(z.string(), z.unknown()).optional(),
  /** Image paths inside the workspace to attach to the prompt: each a PNG, JPEG, GIF or WebP image, at most MAX_IMAGE_BYTES (5 MiB by default). */
  images: z.array(z.string()).max(16).optional(),
  /** Where the agent runs: a local process group (default) or a fresh container (`container`). */
  isolation: z.enum(['process', 'container']).optional(),
  /** With `isolation: "container"`: an image from CONTAINER_IMAGES (default CONTAINER_IMAGE). */
  image: z.string().min(1).optional(),
  /** Ends the run after this many ms (at most 2^31-1, the longest delay a timer holds: about 24.8 days). */
  timeoutMs: z.number().int().positive().max(2_147_483_647).optional(),
  /** Where to POST this run's `run.completed` (signed; see docs/OPERATIONS.md). */
  webhook: webhookSpec.optional(),
  /** Budget of this run (with the server's BUDGET_* settings as defaults and ceilings). */
  limits: limits.optional(),
})
export type RunRequestFields = z.infer<typeof runRequestFields>

export const run = z.object({
  id: z.string(),
  agent: z.string(),
  status: runStatus,
  request: runRequestFields.extend({ cwd: z.string() }),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  reason: endReason.nullable(),
  finalResponse: z.string().nullable(),
  result: z.unknown().optional(),
  usage: usage.nullable(),
  error: z.string().nullable(),
  agentSessionId: z.string().nullable(),
  pid: z.number().int().nullable(),
  command: z.string().nullable(),
  /** Number of events stored so far (the last `seq`). */
  lastSeq: z.number().int(),
  /** The route that started it when not POST /v1/runs (a seed route: `POST /chat`, `GET /hello`, ...). */
  origin: z.string().optional(),
  /** The tenant of the token that created it (API_TOKENS `name:token:scopes:tenant`); absent or null: none. */
  tenant: z.string().nullable().optional(),
})
export type Run = z.infer<typeof run>

export const terminalStatuses: ReadonlySet<string> = new Set(runEndStatus.options)

/** A new run as accepted: queued, no outcome yet. */
export function queuedRun(id: string, agent: string, request: Run['request'], createdAt: string): Run {
  return {
    id,
    agent,
    status: 'queued',
    request,
    createdAt,
    startedAt: null,
    finishedAt: null,
    exitCode: null,
    signal: null,
    reason: null,
    finalResponse: null,
    usage: null,
    error: null,
    agentSessionId: null,
    pid: null,
    command: null,
    lastSeq: 0,
  }
}
