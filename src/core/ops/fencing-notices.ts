/** The part of a pino logger the notices use (Fastify's logger is one). */
export interface NoticeLogger {
  warn(obj: Record<string, unknown>, msg: string): void
  error(obj: Record<string, unknown>, msg: string): void
}

/**
 * What fencing across nodes tells an operator: counts the metrics read at scrape time (metrics.ts), and one log
 * line per event. The core starts before the HTTP layer's logger exists: lines come once one is attached.
 */
export class FencingNotices {
  /** Takeovers of lost nodes' work that failed (the nodes stay marked lost; the next check tries again). */
  takeoversFailed = 0
  /** Nodes this node found dead and marked lost. */
  nodesLost = 0
  /** Sessions this node let go because another node had taken them over. */
  sessionsLetGo = 0
  /** Runs whose agent this node stopped because another node had taken them over (an event of theirs refused). */
  runsLetGo = 0
  /**
   * Turns this node failed when it claimed their session (reopened it: session-recovery.ts recoverClaimed): left
   * open in the store by the session's previous node, whose takeover had not failed them (overtaken by the claim).
   */
  leftoverTurnsFailed = 0
  /** Whether this node found itself taken for dead (it stalled past NODE_TIMEOUT_SECONDS) since it started. */
  fenced = false
  private logger: NoticeLogger | undefined

  attach(logger: NoticeLogger): void {
    this.logger = logger
  }

  lostNodes(nodes: readonly string[], by: string): void {
    this.nodesLost += nodes.length
    this.logger?.warn({ nodes, node: by }, 'nodes taken for lost: their runs and sessions are taken over')
  }

  /** Work held by nodes the store no longer knows (their record removed), taken over: not counted as nodes lost. */
  unknownOwners(owners: readonly string[], by: string): void {
    this.logger?.warn(
      { owners, node: by },
      'work of nodes the store does not know is taken over: their runs and sessions move to this node',
    )
  }

  takeoverFailed(err: unknown, by: string): void {
    this.takeoversFailed++
    this.logger?.error(
      { err: (err as Error)?.message ?? String(err), node: by },
      'taking over lost nodes failed; the next check tries again',
    )
  }

  wasFenced(node: string, silentMs: number): void {
    this.fenced = true
    this.logger?.error(
      { node, silentMs },
      'this node was taken for dead (paused past NODE_TIMEOUT_SECONDS): it lets go of what was taken over and rejoins',
    )
  }

  sessionLetGo(sessionId: string, node: string, owner: string | null): void {
    this.sessionsLetGo++
    this.logger?.warn(
      { sessionId, node, owner },
      `session ${sessionId} taken over by another node: let go on ${node}`,
    )
  }

  runLetGo(runId: string, node: string, owner: string | null): void {
    this.runsLetGo++
    this.logger?.warn(
      { runId, node, owner },
      `run ${runId} taken over by another node: its agent stopped on ${node}, its events refused`,
    )
  }

  /** `turns` (queued or running in the store, held by no process) were failed as `node` reopened the session. */
  leftoversFailed(sessionId: string, turns: readonly { id: string; status: string }[], node: string): void {
    this.leftoverTurnsFailed += turns.length
    const turnIds = turns.map((t) => t.id)
    this.logger?.warn(
      {
        sessionId,
        turnIds,
        statuses: turns.map((t) => t.status),
        node,
        reason: 'left open by the node that held the session before (its takeover did not end them)',
      },
      `session ${sessionId} reopened on ${node}: ${turnIds.length} turn(s) its previous node left open failed (${turnIds.join(', ')})`,
    )
  }
}
