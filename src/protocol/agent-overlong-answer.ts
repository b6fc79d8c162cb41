/**
 * An agent's answer longer than the gateway reads as one line (codex app-server's history past
 * CODEX_HISTORY_MAX_BYTES: agents/codex-app-server/history-answers.ts): a 500 agent_failed with these details,
 * which the surfaces tell from other failures without knowing the agents (`isOverlongAnswer`).
 */
export interface OverlongAnswer {
  overlongAnswer: { method: string; limit: number }
}

export const overlongAnswer = (err: { method: string; limit: number }): OverlongAnswer => ({
  overlongAnswer: { method: err.method, limit: err.limit },
})

/** Whether `err` is an answer too long for the gateway (an error with OverlongAnswer details). */
export const isOverlongAnswer = (err: unknown): boolean =>
  typeof (err as { details?: Partial<OverlongAnswer> } | undefined)?.details?.overlongAnswer === 'object'

/** The limit (characters) an answer too long for the gateway passed; undefined for any other error. */
export const overlongLimit = (err: unknown): number | undefined =>
  isOverlongAnswer(err) ? (err as { details: OverlongAnswer }).details.overlongAnswer.limit : undefined
