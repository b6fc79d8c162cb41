import type { Approval } from '../protocol/sessions.js'

/**
 * What one node tells another: control of runs, answers to approvals its agents asked for, and calls (a request
 * with `from` to answer to, and its reply) that act on sessions the other node holds.
 */
export type NodeMessage =
  | { kind: 'cancel'; runId: string; reason?: 'cancelled' | 'client_gone' }
  | { kind: 'approval'; approvalId: string; decision: NonNullable<Approval['decision']> }
  | { kind: 'call'; callId: string; from: string; method: string; params: unknown }
  | { kind: 'reply'; callId: string; ok: true; result: unknown }
  | { kind: 'reply'; callId: string; ok: false; error: { code: string; message: string; details?: unknown } }

/** Messages between gateway nodes, addressed by node id (delivered at most once; senders confirm by state). */
export interface NodeSignals {
  send(to: string, message: NodeMessage): Promise<void>
  /** Calls `handler` with every message addressed to this node. */
  onMessage(handler: (message: NodeMessage) => void): void
  close(): Promise<void>
}
