import type { Approval } from '../protocol/sessions.js'

/** What one node tells another: control of runs, and answers to approvals its agents asked for. */
export type NodeMessage =
  | { kind: 'cancel'; runId: string; reason?: 'cancelled' | 'client_gone' }
  | { kind: 'approval'; approvalId: string; decision: NonNullable<Approval['decision']> }

/** Messages between gateway nodes, addressed by node id (delivered at most once; senders confirm by state). */
export interface NodeSignals {
  send(to: string, message: NodeMessage): Promise<void>
  /** Calls `handler` with every message addressed to this node. */
  onMessage(handler: (message: NodeMessage) => void): void
  close(): Promise<void>
}
