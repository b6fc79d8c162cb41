import type { NoticeLogger } from './fencing-notices.js'

/**
 * What the session manager tells an operator beyond the session's own events: counts the metrics read at scrape
 * time (metrics.ts), and one log line per event. The core starts before the HTTP layer's logger exists: lines
 * come once one is attached.
 */
export class SessionNotices {
  /** Sessions archived in the gateway whose agent could not archive its own record of them. */
  agentArchivesFailed = 0
  private logger: NoticeLogger | undefined

  attach(logger: NoticeLogger): void {
    this.logger = logger
  }

  /** The session is archived in the gateway all the same (its `agentArchiveError` says `err`). */
  agentArchiveFailed(sessionId: string, agent: string, err: string): void {
    this.agentArchivesFailed++
    this.logger?.warn(
      { sessionId, agent, err },
      `session ${sessionId} archived; its agent ${agent} could not archive its own record of it: ${err}`,
    )
  }
}
