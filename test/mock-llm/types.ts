/** Timing knobs every step may carry. */
export interface StepTiming {
  /** Wait this long before the first byte of the answer (headers included). */
  delayMs?: number
  /** Wait this long between SSE events. */
  chunkDelayMs?: number
}

export type TextStep = StepTiming & { kind: 'text'; text: string; deltas?: boolean }
export type ExecCommandStep = StepTiming & {
  kind: 'exec_command'
  cmd: string
  workdir?: string
  /** codex's `yield_time_ms`: after this long a still running command goes on in a background terminal. */
  yieldTimeMs?: number
  /**
   * codex's per-command `sandbox_permissions` (`require_escalated`: run it without the sandbox, when approved) and
   * its `justification`; the openai-responses format only.
   */
  sandboxPermissions?: 'use_default' | 'require_escalated'
  justification?: string
  /**
   * The function the call names: `exec_command` (default), or `shell_command` (its `command` a string), which
   * codex-acp's codex runs (codex 0.171 answers "unsupported call"); the openai-responses format only.
   */
  tool?: 'exec_command' | 'shell_command'
  /**
   * exec_command's `shell` (the shell to run `cmd` with; codex then runs it without its shell snapshot) and
   * `login` (a login shell or not); the openai-responses format only.
   */
  shell?: string
  login?: boolean
}
export type ApplyPatchStep = StepTiming & { kind: 'apply_patch'; patch: string }
/**
 * codex's `update_plan` tool call: the model states its plan (each step pending, in_progress or completed); codex
 * app-server announces it as `turn/plan/updated`. The openai-responses format only.
 */
export type UpdatePlanStep = StepTiming & {
  kind: 'update_plan'
  plan: { step: string; status: 'pending' | 'in_progress' | 'completed' }[]
  explanation?: string
}
/**
 * A call of one of the agent's own tools by name with this input: Claude Code's (`WebSearch`, `Write`, …) in the
 * anthropic-messages format, Gemini CLI's (`write_file`, …) as a function call in the gemini format; not in the
 * others.
 */
export type ToolUseStep = StepTiming & { kind: 'tool_use'; name: string; input: Record<string, unknown> }
export type HttpErrorStep = StepTiming & { kind: 'http_error'; status: number; body?: string }
export type DropStep = StepTiming & { kind: 'drop' }

/** One scripted model answer; one step is consumed per model request. */
export type Step =
  | TextStep
  | ExecCommandStep
  | ApplyPatchStep
  | UpdatePlanStep
  | ToolUseStep
  | HttpErrorStep
  | DropStep

/** Steps that produce a 200 SSE stream with model output. */
export type OutputStep = TextStep | ExecCommandStep | ApplyPatchStep | UpdatePlanStep | ToolUseStep

export interface RecordedRequest {
  method: string
  path: string
  headers: Record<string, string | string[] | undefined>
  body: unknown
  at: number
  /** A side request (answered by the format's `sideAnswer`, no scripted step consumed). */
  side?: boolean
}

/** What a step factory sees when it is asked for the answer to a request. */
export interface StepContext {
  request: RecordedRequest
  lastUserText: string
  conversationKey: string
  /** Output of the most recent tool call in the request, when the request is a tool follow-up. */
  lastToolOutput?: string
}

/**
 * Computes a step at answer time (echoes, random texts, answers that depend on tool output). A promise holds the
 * answer back until it settles (see `held` in asked.ts); the request is recorded and its step taken meanwhile.
 */
export type StepFactory = (ctx: StepContext) => Step | Promise<Step>

export type StepSource = Step | StepFactory

export interface Scenario {
  /** Chosen when the last user message contains (string) or matches (RegExp) this; absent = any prompt. */
  match?: string | RegExp
  steps: StepSource[]
}

export interface MockLlm {
  /** http://127.0.0.1:PORT */
  url: string
  /** http://127.0.0.1:PORT/v1 (what codex's base_url points at) */
  baseUrl: string
  port: number
  /**
   * Model requests (e.g. POST /v1/responses), recorded before they are answered. Side requests are recorded
   * too, flagged `side: true` (filter them out when counting the scripted ones).
   */
  requests: RecordedRequest[]
  /** Queue steps for the next model requests, FIFO, any prompt. */
  script(...steps: StepSource[]): void
  /** Scenario chosen when a new turn's last user message contains/matches `match`. */
  on(match: string | RegExp, ...steps: StepSource[]): void
  /** Answer used when nothing is queued or matched (initially text "OK"). */
  setDefault(step: StepSource): void
  /** Text of the last role:user message of a recorded model request. */
  lastUserText(req: RecordedRequest): string
  /**
   * Clear queue, scenarios, conversations, recorded requests; the default answer goes back to "OK". Requests whose
   * answer is still held back (held() not released) are answered 500.
   */
  reset(): void
  /** Close the server and destroy open sockets; pending delays are cancelled. */
  close(): Promise<void>
}

export interface StartMockLlmOptions {
  /** 0 (default) picks a free port. */
  port?: number
  /** Default 127.0.0.1. */
  host?: string
  /** Called with one human-readable line per request (used by the CLI). */
  log?: (line: string) => void
}
