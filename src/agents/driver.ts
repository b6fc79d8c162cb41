import type { AgentEvent } from '../protocol/events.js'
import type { SandboxMode } from '../protocol/policies.js'
import type { Placement } from './placement.js'

/**
 * The one interface every agent integration implements (codex-exec, codex app-server, claude, gemini,
 * copilot, acp:<name>, cli). A driver builds argv/env and maps the agent's own output to normalized
 * events; it never touches HTTP and never spawns except through the ProcessRunner it is given (src/process/runner.ts).
 */
export interface AgentCapabilities {
  sessions: boolean
  approvals: boolean
  fork: boolean
  interrupt: boolean
  /** A session's running turn takes more input (`onBusy: "steer"`); without it such input is queued as the next turn. */
  steer: boolean
  images: boolean
  /** A run takes an `outputSchema` (POST /v1/runs): its final response is held to it and parsed into `result`. */
  outputSchema: boolean
  /**
   * A session's turn takes an `outputSchema` of its own (POST /v1/sessions/:id/turns, seed 003's turn/start):
   * the agent holds that turn's final message to it (codex: `turn/start`'s `outputSchema`).
   */
  turnOutputSchema: boolean
}

export type AgentCapability = keyof AgentCapabilities

/** Every capability, in the order GET /v1/agents and the README's matrix list them. */
export const allCapabilities: readonly AgentCapability[] = [
  'sessions',
  'approvals',
  'fork',
  'interrupt',
  'steer',
  'images',
  'outputSchema',
  'turnOutputSchema',
]

/** Capabilities from the ones a driver has (every other one is false). */
export function capabilities(...has: AgentCapability[]): AgentCapabilities {
  return Object.fromEntries(allCapabilities.map((c) => [c, has.includes(c)])) as unknown as AgentCapabilities
}

export interface AgentStatus {
  id: string
  installed: boolean
  version: string | null
  /** Whether credentials are configured (an API key, a login, a custom provider). */
  authenticated: boolean
  /** What to do when not installed or not authenticated; null when ready. */
  hint: string | null
  binary: string | null
}

/** `isolation`, `image` and `labels` say where the agent runs (see placement.ts). */
export interface RunRequest extends Placement {
  prompt: string
  /** Absolute and already confined to a workspace root by the caller. */
  cwd: string
  model?: string
  sandbox?: SandboxMode
  skipGitRepoCheck?: boolean
  /** A JSON Schema the final response must follow. */
  outputSchema?: Record<string, unknown>
  /** Absolute paths of images to attach. */
  images?: string[]
  timeoutMs?: number | null
  /** For the raw `cli` driver only: the command line to run instead of a prompt. */
  raw?: { cli: string; args: string[]; stdin?: string; env?: Record<string, string> }
}

/** What a driver made ahead for its next one-shot runs (codex ready threads, ACP ready sessions), counted. */
export interface WarmPoolCounts {
  /** Made ahead so far. */
  readonly started: number
  /** Runs one of them served so far. */
  readonly served: number
  /** Made or being made, waiting for their run now. */
  readonly waiting: number
}

export interface AgentDriver {
  readonly id: string
  readonly capabilities: AgentCapabilities
  probe(): Promise<AgentStatus>
  /**
   * One-shot run. Yields `run.started` first and exactly one `run.completed` last, whatever happens
   * (missing binary, crash, timeout, abort); never throws once iteration started.
   * Aborting `signal` ends the agent's whole process group; `signal.reason` may name an EndReason.
   */
  run(req: RunRequest, signal: AbortSignal): AsyncIterable<AgentEvent>
  /** Ends long-lived processes the driver keeps (called on shutdown). */
  close?(): Promise<void>
  /** The driver's warm runs, when it makes things ahead for them (for /metrics). */
  readonly warmPool?: WarmPoolCounts
  /**
   * The most characters (Unicode code points) of text the agent takes a turn or run, its own limit, when it has one:
   * a longer input is refused when it is sent (core/input-size.ts), not failed once the agent got it.
   */
  readonly maxInputChars?: number
}
