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
])
export type EndReason = z.infer<typeof endReason>

export const runStatus = z.enum([
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'timed_out',
  'interrupted',
])
export type RunStatus = z.infer<typeof runStatus>

export const usage = z.object({
  inputTokens: z.number().int().nonnegative(),
  cachedInputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  reasoningOutputTokens: z.number().int().nonnegative(),
})
export type Usage = z.infer<typeof usage>

/** A run's `error` when something ended it (not the agent itself): says why first, in words. */
export function endedBecause(reason: EndReason): string | undefined {
  switch (reason) {
    case 'cancelled':
      return 'cancelled: the run was cancelled on request'
    case 'client_gone':
      return 'cancelled: the client that started the run disconnected'
    case 'timed_out':
      return 'timed out: the run reached its time limit (timeoutMs, default TIMEOUT_SECONDS) and was ended'
    case 'shutdown':
      return 'interrupted: the server shut down during the run'
    default:
      return undefined
  }
}
