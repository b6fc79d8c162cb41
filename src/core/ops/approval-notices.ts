import type { NoticeLogger } from './fencing-notices.js'

/**
 * What the approval broker and its sweep tell an operator: counts the metrics read at scrape time (metrics.ts),
 * and one log line per event. The core starts before the HTTP layer's logger exists: lines come once one is
 * attached.
 */
export class ApprovalNotices {
  /** Attempts to record an answer of the gateway's own (timeout, turn ended, cancel) that the store failed. */
  resolveFailures = 0
  /** Such answers given up after their last retry (the approval left to the sweep). */
  resolvesGivenUp = 0
  /** Approvals the sweep found pending with nobody to answer them (their turn gone), and cancelled. */
  swept = 0
  /** Answers given on another node whose signal never came: found in the store by the asking node. */
  answersFoundInStore = 0
  /** Sessions the sweep found `waiting_for_approval` with no approval pending, whose state it recomputed. */
  statesCorrected = 0
  private logger: NoticeLogger | undefined

  attach(logger: NoticeLogger): void {
    this.logger = logger
  }

  resolveFailed(approvalId: string, by: string, err: unknown, retryInMs: number | undefined): void {
    this.resolveFailures++
    const error = (err as Error)?.message ?? String(err)
    if (retryInMs !== undefined) {
      this.logger?.warn(
        { approvalId, by, err: error, retryInMs },
        `recording approval ${approvalId} (${by}) failed; trying again`,
      )
      return
    }
    this.resolvesGivenUp++
    this.logger?.error(
      { approvalId, by, err: error },
      `recording approval ${approvalId} (${by}) failed again; left to the approval sweep`,
    )
  }

  answerFoundInStore(approvalId: string, sessionId: string): void {
    this.answersFoundInStore++
    this.logger?.warn(
      { approvalId, sessionId },
      `approval ${approvalId} was answered on another node whose signal never came: its answer found in the store`,
    )
  }

  sweptApproval(approvalId: string, sessionId: string, turnId: string | null, why: string): void {
    this.swept++
    this.logger?.warn(
      { approvalId, sessionId, turnId, why },
      `approval ${approvalId} was still pending with nobody to answer it (${why}): cancelled`,
    )
  }

  correctedState(sessionId: string): void {
    this.statesCorrected++
    this.logger?.warn(
      { sessionId },
      `session ${sessionId} was waiting_for_approval with no approval pending: its state recomputed`,
    )
  }

  sweepFailed(err: unknown): void {
    this.logger?.error(
      { err: (err as Error)?.message ?? String(err) },
      'the approval sweep failed; the next one tries again',
    )
  }
}
