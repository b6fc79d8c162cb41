import { mkdirSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import type { AgentEvent, StoredEvent } from '../protocol/events.js'
import type { Run } from '../protocol/runs.js'
import type { Approval, Session, Turn } from '../protocol/sessions.js'
import { JsonTable } from './json-table.js'
import { migrations } from './migrations/index.js'
import type { ApprovalFilter, RunFilter, SessionFilter, Store } from './store.js'

/**
 * The embedded store: one SQLite file in WAL mode under DATA_DIR. Each resource is a JSON document with its
 * queryable fields mirrored in real columns; events are rows keyed by (owner, seq).
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite'
  private readonly db: Database.Database
  private readonly runs: JsonTable<Run>
  private readonly sessions: JsonTable<Session>
  private readonly turns: JsonTable<Turn>
  private readonly approvals: JsonTable<Approval>
  private readonly stmts
  private readonly checkpoints: NodeJS.Timeout

  constructor(readonly file: string) {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true })
    this.db = new Database(file)
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = NORMAL')
    this.db.pragma('foreign_keys = ON')
    this.db.pragma('busy_timeout = 5000')
    // Checkpoints copy the WAL into the database and fsync; done on a timer instead of inside some unlucky
    // event write (which then blocked the event loop for 10-25 ms).
    this.db.pragma('wal_autocheckpoint = 0')
    this.checkpoints = setInterval(() => this.db.pragma('wal_checkpoint(PASSIVE)'), 5000)
    this.checkpoints.unref()
    this.migrate()
    this.runs = new JsonTable(
      this.db,
      'runs',
      { agent: 'agent', status: 'status', created_at: 'createdAt', finished_at: 'finishedAt' },
      true,
    )
    this.sessions = new JsonTable(
      this.db,
      'sessions',
      { agent: 'agent', agent_session_id: 'agentSessionId', status: 'status', external_id: 'externalId' },
      true,
    )
    this.turns = new JsonTable(this.db, 'turns', { session_id: 'sessionId', status: 'status' })
    this.approvals = new JsonTable(this.db, 'approvals', { session_id: 'sessionId', state: 'state' })
    this.stmts = {
      bumpRunSeq: this.db.prepare('UPDATE runs SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq'),
      bumpSessionSeq: this.db.prepare(
        'UPDATE sessions SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq',
      ),
      insertEvent: this.db.prepare(
        'INSERT INTO events (owner_id, seq, type, at, body) VALUES (?, ?, ?, ?, ?)',
      ),
      eventsAfter: this.db.prepare(
        'SELECT body FROM events WHERE owner_id = ? AND seq > ? ORDER BY seq LIMIT ?',
      ),
      deleteFinishedEvents: this.db.prepare(
        'DELETE FROM events WHERE owner_id IN (SELECT id FROM runs WHERE finished_at IS NOT NULL AND finished_at < ?)',
      ),
      deleteFinished: this.db.prepare('DELETE FROM runs WHERE finished_at IS NOT NULL AND finished_at < ?'),
    }
  }

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number
    for (let v = current; v < migrations.length; v++) {
      this.db.transaction(() => {
        this.db.exec(migrations[v]!)
        this.db.pragma(`user_version = ${v + 1}`)
      })()
    }
  }

  async createRun(run: Run): Promise<void> {
    this.runs.insert(run)
  }

  async updateRun(id: string, patch: Partial<Omit<Run, 'id'>>): Promise<void> {
    this.runs.update(id, patch)
  }

  async getRun(id: string): Promise<Run | undefined> {
    return this.runs.get(id)
  }

  async listRuns(filter: RunFilter): Promise<Run[]> {
    return this.runs.where(
      { status: filter.status, agent: filter.agent },
      { limit: filter.limit, before: filter.before },
    )
  }

  async unfinishedRuns(): Promise<Run[]> {
    return [...this.runs.where({ status: 'queued' }), ...this.runs.where({ status: 'running' })].sort(
      (a, b) => a.id.localeCompare(b.id),
    )
  }

  async deleteFinishedBefore(cutoff: string): Promise<number> {
    return this.db.transaction(() => {
      this.stmts.deleteFinishedEvents.run(cutoff)
      return this.stmts.deleteFinished.run(cutoff).changes
    })()
  }

  /** Events belong to a run (`run_…`) or a session (`ses_…`); seq is per owner, assigned in the same transaction. */
  async appendEvent(ownerId: string, event: AgentEvent, at: string): Promise<StoredEvent> {
    const isSession = ownerId.startsWith('ses_')
    return this.db.transaction(() => {
      const bump = isSession ? this.stmts.bumpSessionSeq : this.stmts.bumpRunSeq
      const bumped = bump.get(ownerId) as { last_seq: number } | undefined
      if (!bumped) throw new Error(`appendEvent: unknown ${isSession ? 'session' : 'run'} ${ownerId}`)
      const owner = isSession ? { sessionId: ownerId } : { runId: ownerId }
      const stored = { ...event, seq: bumped.last_seq, at, ...owner } as StoredEvent
      this.stmts.insertEvent.run(ownerId, stored.seq, event.type, at, JSON.stringify(stored))
      return stored
    })()
  }

  async eventsAfter(ownerId: string, afterSeq: number, limit: number): Promise<StoredEvent[]> {
    const rows = this.stmts.eventsAfter.all(ownerId, afterSeq, limit) as { body: string }[]
    return rows.map((r) => JSON.parse(r.body) as StoredEvent)
  }

  async createSession(s: Session): Promise<void> {
    this.sessions.insert(s)
  }

  async updateSession(id: string, patch: Partial<Omit<Session, 'id'>>): Promise<Session | undefined> {
    return this.sessions.update(id, patch)
  }

  async getSession(id: string): Promise<Session | undefined> {
    return this.sessions.get(id)
  }

  async findSessionByAgentId(agentSessionId: string): Promise<Session | undefined> {
    return this.sessions.where({ agent_session_id: agentSessionId }, { limit: 1 })[0]
  }

  async findSessionByExternalId(externalId: string): Promise<Session | undefined> {
    return this.sessions.where({ external_id: externalId }, { limit: 1 })[0]
  }

  async listSessions(filter: SessionFilter): Promise<Session[]> {
    return this.sessions.where(
      { status: filter.status, agent: filter.agent },
      { limit: filter.limit, before: filter.before },
    )
  }

  async createTurn(t: Turn): Promise<void> {
    this.turns.insert(t)
  }

  async updateTurn(id: string, patch: Partial<Omit<Turn, 'id'>>): Promise<Turn | undefined> {
    return this.turns.update(id, patch)
  }

  async getTurn(id: string): Promise<Turn | undefined> {
    return this.turns.get(id)
  }

  async listTurns(sessionId: string, status?: Turn['status']): Promise<Turn[]> {
    return this.turns.where({ session_id: sessionId, status }, { ascending: true })
  }

  async createApproval(a: Approval): Promise<void> {
    this.approvals.insert(a)
  }

  async updateApproval(id: string, patch: Partial<Omit<Approval, 'id'>>): Promise<Approval | undefined> {
    return this.approvals.update(id, patch)
  }

  async getApproval(id: string): Promise<Approval | undefined> {
    return this.approvals.get(id)
  }

  async listApprovals(filter: ApprovalFilter): Promise<Approval[]> {
    return this.approvals.where(
      { state: filter.state, session_id: filter.sessionId },
      { limit: filter.limit },
    )
  }

  async ping(): Promise<boolean> {
    return (this.db.prepare('SELECT 1 AS ok').get() as { ok: number }).ok === 1
  }

  async close(): Promise<void> {
    clearInterval(this.checkpoints)
    if (!this.db.open) return
    this.db.pragma('wal_checkpoint(TRUNCATE)')
    this.db.close()
  }
}
