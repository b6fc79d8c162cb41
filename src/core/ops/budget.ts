import type { Config } from '../../config/load.js'
import { AppError } from '../../protocol/errors.js'
import type { AgentEvent, RunCompletedEvent } from '../../protocol/events.js'
import type { Limits } from '../../protocol/limits.js'
import type { Usage } from '../../protocol/outcome.js'

const settingOf = {
  maxDurationSeconds: 'BUDGET_MAX_DURATION_SECONDS',
  maxTurns: 'BUDGET_MAX_TURNS',
  maxTokens: 'BUDGET_MAX_TOKENS',
} as const

/**
 * The limits that apply: the request's, with the server's BUDGET_* settings as defaults and ceilings
 * (a request may lower a server limit, not raise it: 400). Undefined when nothing limits.
 */
export function effectiveLimits(requested: Limits | undefined, config: Config): Limits | undefined {
  const out: Limits = {}
  for (const [key, setting] of Object.entries(settingOf) as [keyof Limits, keyof Config][]) {
    const server = config[setting] as number | undefined
    const asked = requested?.[key]
    if (asked !== undefined && server !== undefined && asked > server)
      throw new AppError(
        'invalid_request',
        `limits.${key} ${asked} is above the server's ${setting} (${server})`,
      )
    const value = asked ?? server
    if (value !== undefined) out[key] = value
  }
  return Object.keys(out).length > 0 ? out : undefined
}

export const tokensOf = (u: Usage | null | undefined) => (u ? u.inputTokens + u.outputTokens : 0)

/**
 * Watches one run against its limits: a timer for the duration, turn and token counts from its events.
 * Over budget, it aborts the run (the driver ends the whole process group) and remembers why.
 */
export class RunBudget {
  exceeded: string | null = null
  private turns = 0
  private tokens = 0
  private readonly timer: NodeJS.Timeout | undefined

  constructor(
    private readonly limits: Limits | undefined,
    private readonly controller: AbortController,
  ) {
    const seconds = limits?.maxDurationSeconds
    if (seconds) {
      this.timer = setTimeout(
        () => this.over(`ran longer than maxDurationSeconds (${seconds})`),
        seconds * 1000,
      )
      this.timer.unref()
    }
  }

  observe(ev: AgentEvent): void {
    if (!this.limits) return
    if (
      ev.type === 'turn.started' &&
      this.limits.maxTurns !== undefined &&
      ++this.turns > this.limits.maxTurns
    )
      this.over(`started more than maxTurns (${this.limits.maxTurns}) turns`)
    if (ev.type === 'turn.completed' && this.limits.maxTokens !== undefined) {
      this.tokens += tokensOf(ev.usage)
      if (this.tokens > this.limits.maxTokens)
        this.over(`used ${this.tokens} tokens, more than maxTokens (${this.limits.maxTokens})`)
    }
  }

  /** The run's outcome: unchanged, or ended for its budget. */
  outcome(completed: RunCompletedEvent): RunCompletedEvent {
    clearTimeout(this.timer)
    if (!this.exceeded || completed.status === 'succeeded') return completed
    return {
      ...completed,
      status: 'failed',
      reason: 'budget_exceeded',
      error: `over budget: ${this.exceeded}`,
    }
  }

  stop(): void {
    clearTimeout(this.timer)
  }

  private over(why: string): void {
    if (this.exceeded || this.controller.signal.aborted) return
    this.exceeded = why
    this.controller.abort('cancelled')
  }
}
