import { z } from 'zod'

/** Why a process ended: the data every run outcome records (execa-style). */
export const endReason = z.enum([
  'exited',
  'timed_out',
  'cancelled',
  'client_gone',
  'shutdown',
  'spawn_failed',
  /** The server stopped without ending the run (crash, SIGKILL); recorded at the next start. */
  'server_lost',
  /** The cluster worker running it stopped sending heartbeats; recorded by another node. */
  'worker_lost',
  /** The run went over its `limits` (duration, turns or tokens) and was ended. */
  'budget_exceeded',
])
export type EndReason = z.infer<typeof endReason>

/** How a run ended. */
export const runEndStatus = z.enum(['succeeded', 'failed', 'cancelled', 'timed_out', 'interrupted'])
export type RunEndStatus = z.infer<typeof runEndStatus>

export const runStatus = z.enum(['queued', 'running', ...runEndStatus.options])
export type RunStatus = z.infer<typeof runStatus>

export const usage = z.object({
  inputTokens: z.number().int().nonnegative(),
  cachedInputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  reasoningOutputTokens: z.number().int().nonnegative(),
})
export type Usage = z.infer<typeof usage>
