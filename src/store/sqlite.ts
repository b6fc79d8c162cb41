import { mkdirSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import type { AgentEvent, StoredEvent } from '../protocol/events.js'
import type { Run } from '../protocol/runs.js'
import { migrations } from './migrations/index.js'
import type { RunFilter, Store } from './store.js'

/**
 * The embedded store: one SQLite file in WAL mode under DATA_DIR. A run's queryable columns are real
 * columns; the rest of the record is JSON in `body`.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite'
  private readonly db: Database.Database
  private readonly stmts

  constructor(readonly file: string) {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true })
    this.db = new Database(file)
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = NORMAL')
    this.db.pragma('foreign_keys = ON')
    this.db.pragma('busy_timeout = 5000')
    this.migrate()
    this.stmts = {
      insertRun: this.db.prepare(
        'INSERT INTO runs (id, agent, status, created_at, finished_at, last_seq, body) VALUES (@id, @agent, @status, @createdAt, @finishedAt, @lastSeq, @body)',
      ),
      updateRun: this.db.prepare(
        'UPDATE runs SET status = @status, finished_at = @finishedAt, last_seq = @lastSeq, body = @body WHERE id = @id',
      ),
      getRun: this.db.prepare('SELECT body, last_seq FROM runs WHERE id = ?'),
      bumpSeq: this.db.prepare('UPDATE runs SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq'),
      insertEvent: this.db.prepare('INSERT INTO events (run_id, seq, type, at, body) VALUES (?, ?, ?, ?, ?)'),
      eventsAfter: this.db.prepare(
        'SELECT body FROM events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?',
      ),
      unfinished: this.db.prepare(
        "SELECT body, last_seq FROM runs WHERE status IN ('queued', 'running') ORDER BY id",
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
    this.stmts.insertRun.run(row(run))
  }

  async updateRun(id: string, patch: Partial<Omit<Run, 'id'>>): Promise<void> {
    this.db.transaction(() => {
      const current = this.read(id)
      if (!current) return
      this.stmts.updateRun.run(row({ ...current, ...patch, lastSeq: current.lastSeq }))
    })()
  }

  async getRun(id: string): Promise<Run | undefined> {
    return this.read(id)
  }

  private read(id: string): Run | undefined {
    const r = this.stmts.getRun.get(id) as { body: string; last_seq: number } | undefined
    return r ? { ...(JSON.parse(r.body) as Run), lastSeq: r.last_seq } : undefined
  }

  async listRuns(filter: RunFilter): Promise<Run[]> {
    const where: string[] = []
    const params: unknown[] = []
    if (filter.status) where.push('status = ?') && params.push(filter.status)
    if (filter.agent) where.push('agent = ?') && params.push(filter.agent)
    if (filter.before) where.push('id < ?') && params.push(filter.before)
    const sql = `SELECT body, last_seq FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`
    const rows = this.db.prepare(sql).all(...params, filter.limit) as { body: string; last_seq: number }[]
    return rows.map((r) => ({ ...(JSON.parse(r.body) as Run), lastSeq: r.last_seq }))
  }

  async appendEvent(runId: string, event: AgentEvent, at: string): Promise<StoredEvent> {
    return this.db.transaction(() => {
      const bumped = this.stmts.bumpSeq.get(runId) as { last_seq: number } | undefined
      if (!bumped) throw new Error(`appendEvent: unknown run ${runId}`)
      const stored = { ...event, seq: bumped.last_seq, at, runId } as StoredEvent
      this.stmts.insertEvent.run(runId, stored.seq, event.type, at, JSON.stringify(stored))
      return stored
    })()
  }

  async eventsAfter(runId: string, afterSeq: number, limit: number): Promise<StoredEvent[]> {
    const rows = this.stmts.eventsAfter.all(runId, afterSeq, limit) as { body: string }[]
    return rows.map((r) => JSON.parse(r.body) as StoredEvent)
  }

  async unfinishedRuns(): Promise<Run[]> {
    const rows = this.stmts.unfinished.all() as { body: string; last_seq: number }[]
    return rows.map((r) => ({ ...(JSON.parse(r.body) as Run), lastSeq: r.last_seq }))
  }

  async deleteFinishedBefore(cutoff: string): Promise<number> {
    return this.stmts.deleteFinished.run(cutoff).changes
  }

  async ping(): Promise<boolean> {
    return (this.db.prepare('SELECT 1 AS ok').get() as { ok: number }).ok === 1
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close()
  }
}

function row(run: Run) {
  return {
    id: run.id,
    agent: run.agent,
    status: run.status,
    createdAt: run.createdAt,
    finishedAt: run.finishedAt,
    lastSeq: run.lastSeq,
    body: JSON.stringify(run),
  }
}
