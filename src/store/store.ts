import type { AgentEvent, StoredEvent } from '../protocol/events.js'
import type { Run } from '../protocol/runs.js'
import type { Approval, Session, Turn } from '../protocol/sessions.js'

export interface RunFilter {
  status?: Run['status']
  agent?: string
  /** Return runs older than this run id (ids sort by creation time). */
  before?: string
  limit: number
}

export interface SessionFilter {
  status?: Session['status']
  agent?: string
  before?: string
  limit: number
}

export interface ApprovalFilter {
  state?: Approval['state']
  sessionId?: string
  limit?: number
}

/**
 * Durable state: runs, sessions, turns, approvals and their events. Everything is written here before a client sees it.
 * SQLite is the embedded default; the interface is async so a networked store fits behind it.
 */
export interface Store {
  readonly kind: string
  createRun(run: Run): Promise<void>
  updateRun(id: string, patch: Partial<Omit<Run, 'id'>>): Promise<void>
  getRun(id: string): Promise<Run | undefined>
  listRuns(filter: RunFilter): Promise<Run[]>
  /** Stores the event with the next seq of its owner (a run or a session) and returns it stamped. */
  appendEvent(ownerId: string, event: AgentEvent, at: string): Promise<StoredEvent>
  eventsAfter(ownerId: string, afterSeq: number, limit: number): Promise<StoredEvent[]>
  /** Runs left `queued` or `running` by a server that stopped without finishing them. */
  unfinishedRuns(): Promise<Run[]>
  /** Deletes finished runs (and their events) that finished before `cutoff`; returns how many. */
  deleteFinishedBefore(cutoff: string): Promise<number>
  createSession(session: Session): Promise<void>
  updateSession(id: string, patch: Partial<Omit<Session, 'id'>>): Promise<Session | undefined>
  getSession(id: string): Promise<Session | undefined>
  findSessionByAgentId(agentSessionId: string): Promise<Session | undefined>
  /** The session a client named itself (unique; seed 004's `sessionId`). */
  findSessionByExternalId(externalId: string): Promise<Session | undefined>
  listSessions(filter: SessionFilter): Promise<Session[]>
  createTurn(turn: Turn): Promise<void>
  updateTurn(id: string, patch: Partial<Omit<Turn, 'id'>>): Promise<Turn | undefined>
  getTurn(id: string): Promise<Turn | undefined>
  /** A session's turns, oldest first. */
  listTurns(sessionId: string, status?: Turn['status']): Promise<Turn[]>
  createApproval(approval: Approval): Promise<void>
  updateApproval(id: string, patch: Partial<Omit<Approval, 'id'>>): Promise<Approval | undefined>
  getApproval(id: string): Promise<Approval | undefined>
  listApprovals(filter: ApprovalFilter): Promise<Approval[]>
  ping(): Promise<boolean>
  close(): Promise<void>
}
