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

/** A message sent with NodeSignals.post: its sender can take it back until its receiver has taken it. */
export interface Posted {
  /**
   * Takes the message back: true when it was still there (the receiver never took it, and now never will: it
   * was not acted on), false when the receiver had taken it (it may have acted on it).
   */
  withdraw(): Promise<boolean>
}

/** Messages between gateway nodes, addressed by node id (delivered at most once; senders confirm by state). */
export interface NodeSignals {
  send(to: string, message: NodeMessage): Promise<void>
  /**
   * As send, but the message waits in the store until its receiver takes it (taking it is one atomic step, done
   * before the receiver acts on it), so its sender can learn whether it was taken (Posted.withdraw). Absent
   * where messages have no such place: then a call's effect is never proven not applied.
   */
  post?(to: string, message: NodeMessage): Promise<Posted>
  /** Calls `handler` with every message addressed to this node. */
  onMessage(handler: (message: NodeMessage) => void): void
  close(): Promise<void>
}
