import type { StoredEvent } from '../../protocol/events.js'

/** The part of a pino logger the tap uses (Fastify's logger is one). */
export interface TapLogger {
  child(bindings: Record<string, unknown>): TapLogger
  info(obj: Record<string, unknown>, msg: string): void
  debug(obj: Record<string, unknown>, msg: string): void
}

/**
 * Logs the lifecycle of runs, turns and approvals, each line with its run or session id (a child logger per
 * owner). Only ids, types, statuses and reasons: never prompts, output or commands.
 */
export function logTap(logger: TapLogger): (ev: StoredEvent) => void {
  return (ev) => {
    // the child logger only for an event that is logged (most of a turn's are not)
    const log = () =>
      logger.child(ev.runId ? { runId: ev.runId } : ev.sessionId ? { sessionId: ev.sessionId } : {})
    switch (ev.type) {
      case 'run.queued':
      case 'run.started':
        log().info({ event: ev.type }, ev.type)
        break
      case 'run.completed':
        log().info({ event: ev.type, status: ev.status, reason: ev.reason, exitCode: ev.exitCode }, ev.type)
        break
      case 'turn.started':
      case 'turn.completed':
      case 'turn.failed':
        log().info({ event: ev.type, turnId: ev.turnId }, ev.type)
        break
      case 'approval.requested':
        log().info({ event: ev.type, approvalId: ev.approvalId, kind: ev.kind }, ev.type)
        break
      case 'approval.resolved':
        log().info({ event: ev.type, approvalId: ev.approvalId, decision: ev.decision, by: ev.by }, ev.type)
        break
      case 'session.status':
        log().debug({ event: ev.type, status: ev.status }, ev.type)
        break
    }
  }
}
