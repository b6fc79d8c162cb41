import { z } from 'zod'

/**
 * `limits` on a run or a session. A run over any of them ends with reason `budget_exceeded`; a session over
 * one pauses before its next turn and asks (an approval) whether to go on.
 */
export const limits = z.object({
  /** Runs: wall time from start. Sessions: total time its turns have run. */
  maxDurationSeconds: z.number().int().positive().optional(),
  /** Turns (a one-shot run usually has one). */
  maxTurns: z.number().int().positive().optional(),
  /** Input plus output tokens, as the agent reports usage. */
  maxTokens: z.number().int().positive().optional(),
})
export type Limits = z.infer<typeof limits>

/** What a session had used when its budget was last granted again (accepting a budget approval). */
export const budgetBase = z.object({
  turns: z.number().int().nonnegative(),
  tokens: z.number().int().nonnegative(),
  seconds: z.number().nonnegative(),
})
export type BudgetBase = z.infer<typeof budgetBase>
