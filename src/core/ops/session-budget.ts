import type { BudgetBase, Limits } from '../../protocol/limits.js'
import type { Turn } from '../../protocol/sessions.js'
import type { SessionClaim, Store } from '../../store/store.js'
import type { ApprovalBroker } from '../approvals.js'
import { tokensOf } from './budget.js'

/** What a session has used: finished turns, their tokens, their running time. */
function usedBy(turns: Turn[]): BudgetBase {
  let count = 0
  let tokens = 0
  let seconds = 0
  for (const t of turns) {
    if (!t.finishedAt || !t.startedAt) continue
    count++
    tokens += tokensOf(t.usage)
    seconds += Math.max(0, (Date.parse(t.finishedAt) - Date.parse(t.startedAt)) / 1000)
  }
  return { turns: count, tokens, seconds }
}

function overBy(limits: Limits, used: BudgetBase, base: BudgetBase): string | null {
  if (limits.maxTurns !== undefined && used.turns - base.turns >= limits.maxTurns)
    return `maxTurns (${limits.maxTurns}) turns used`
  if (limits.maxTokens !== undefined && used.tokens - base.tokens >= limits.maxTokens)
    return `maxTokens (${limits.maxTokens}) used: ${used.tokens - base.tokens} tokens`
  if (limits.maxDurationSeconds !== undefined && used.seconds - base.seconds >= limits.maxDurationSeconds)
    return `maxDurationSeconds (${limits.maxDurationSeconds}) of turn time used`
  return null
}

/**
 * The gate before each session turn: within budget it opens at once; over budget the session pauses and raises
 * an approval (kind `permission`) to go on. Accepting grants a fresh budget counted from now; declining (or
 * nobody answering within APPROVAL_TIMEOUT_SECONDS) fails the turn with `budget_exceeded`.
 */
export function sessionBudgetGate(store: Store, approvals: () => ApprovalBroker) {
  return async (
    sessionId: string,
    turnId: string,
    signal: AbortSignal,
    claim?: SessionClaim,
  ): Promise<string | null> => {
    const session = await store.getSession(sessionId)
    if (!session?.limits) return null
    const used = usedBy(await store.listTurns(sessionId))
    const over = overBy(session.limits, used, session.budgetBase ?? { turns: 0, tokens: 0, seconds: 0 })
    if (!over) return null
    const decision = await approvals().request(
      sessionId,
      turnId,
      {
        kind: 'permission',
        reason: `budget_exceeded: ${over}; accept to grant the same budget again and run this turn`,
        options: ['accept', 'decline'],
      },
      signal,
      claim,
    )
    if (decision === 'accept' || decision === 'accept_for_session') {
      await store.updateSession(sessionId, { budgetBase: used }, claim)
      return null
    }
    return `budget_exceeded: ${over} (not continued: ${decision})`
  }
}
