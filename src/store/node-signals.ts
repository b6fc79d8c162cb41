/** What one node asks another: control of runs it does not hold. */
export type NodeMessage = { kind: 'cancel'; runId: string }

/** Messages between gateway nodes, addressed by node id (delivered at most once; senders confirm by state). */
export interface NodeSignals {
  send(to: string, message: NodeMessage): Promise<void>
  /** Calls `handler` with every message addressed to this node. */
  onMessage(handler: (message: NodeMessage) => void): void
  close(): Promise<void>
}
