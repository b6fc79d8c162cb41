import { mkdirSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import type { AgentEvent, RunCompletedEvent, StoredEvent } from '../../protocol/events.js'
import type { Run } from '../../protocol/runs.js'
import type { Approval, Session, Turn } from '../../protocol/sessions.js'
import type { WebhookDelivery } from '../../protocol/webhooks.js'
import { isDiskFull } from '../../util/disk-full.js'
import { jsonBytesOnce, parseJsonOnce } from '../../util/json-once.js'
import { probedDir, probeWrite, type WriteProbe } from '../../util/write-probe.js'
import { FullDiskMark } from '../full-disk-mark.js'
import { documentColumns as columns, endMissingWhere, heldWhere } from '../json-documents.js'
import {
  type ApprovalAnswer,
  type ApprovalFilter,
  type EventFence,
  type EventToAppend,
  ExternalIdTaken,
  type HeldRequestKey,
  type NodeRecord,
  NotAMember,
  type RequestKeyHold,
  type RunFilter,
  RunTakenOver,
  runFence,
  type SessionClaim,
  type SessionCounts,
  type SessionFilter,
  type SessionStateChange,
  type SessionStateRead,
  type SessionStateSet,
  SessionTakenOver,
  type StateChangeFromRead,
  type StatusFromRead,
  type Store,
  sessionFence,
  type TakenSession,
  type TurnStep,
} from '../store.js'
import { JsonTable } from './json-table.js'
import { LastSeqs } from './last-seqs.js'
import { migrations } from './migrations/index.js'
import { type InlineCheckpoint, WalCheckpointer } from './wal-checkpointer.js'
import { type CheckpointResult, copiedAll, restartWalHere } from './wal-restart-here.js'
import { WalWriteGate } from './wal-write-gate.js'

/** A session's claim and state, read in one statement (claimedState, turnClaimedState). */
type ClaimedStateRow = { claim: number; node_id: string | null; status: Session['status']; pending: number }
/** A run's owning node, as `stmts.runOwner` reads it. */
type OwnerRow = { node_id: string | null }

/**
 * The session's state from its row (with `withState`), or SessionTakenOver when its claim is no longer `claim` (an
 * unknown session passes: not found later).
 */
function claimedRead(
  sessionId: string,
  claim: SessionClaim,
  row: ClaimedStateRow | undefined,
  withState = true,
): SessionStateRead | undefined {
  if (!row) return undefined
  if (row.claim !== claim) throw new SessionTakenOver(sessionId, row.node_id)
  return withState
    ? { status: row.status, pendingApproval: row.pending === 1, owner: row.node_id }
    : undefined
}

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
  private readonly webhooks: JsonTable<WebhookDelivery>
  private readonly stmts
  private readonly checkpoints: WalCheckpointer | undefined
  private readonly lastSeqs = new LastSeqs()
  private readonly tx
  /**
   * Whether its disk was last found full: marked by a transaction refused for it (SQLITE_FULL), cleared by a
   * probe that found room (storageFull), which tells onSpaceBack's listeners. storageFull probes either way: a
   * write may fit in the pages the WAL file holds on a full disk.
   */
  private readonly diskMark = new FullDiskMark()
  /**
   * Held by this thread's write transactions, so that the checkpoint worker, not one of them, starts the WAL over
   * (and fsyncs its header) after a checkpoint that copied it all back (wal-write-gate.ts).
   */
  private readonly gate = new WalWriteGate()
  /** A write outside `tx`'s transactions (a statement, or a transaction made on the spot): gated and its refusal noted. */
  private readonly written = <T>(write: () => T): T => markedWrite(this.diskMark, this.gate, write)

  constructor(readonly file: string) {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true })
    this.db = new Database(file)
    // Only a new, empty file takes it (an existing store keeps the page size it was made with).
    this.db.pragma(`page_size = ${pageBytes}`)
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = NORMAL')
    this.db.pragma('foreign_keys = ON')
    this.db.pragma('busy_timeout = 5000')
    // SQLite's own default page cache (2 MiB), not better-sqlite3's 16 MiB: written event pages fill the cache, and
    // every page it grows by is a fresh page fault, which tripled what the first ~16 MB of events written after a
    // start cost (bench/event-append.ts); a full small cache costs no more per append, and holds less memory.
    this.db.pragma(`cache_size = ${-pageCacheKiB}`)
    // Checkpoints copy the WAL into the database and fsync: not inside some unlucky event write (which then
    // blocked the event loop for 10-25 ms), nor on a timer on this thread (100-230 ms per 2 minutes under
    // load), but from a worker thread with its own connection.
    this.db.pragma('wal_autocheckpoint = 0')
    // The WAL file keeps the size of the most written between two checkpoints, up to this bound: larger, it is
    // cut back when it starts over (cut back to the checkpointer's inline limit, every burst would regrow it).
    this.db.pragma(`journal_size_limit = ${walFileLimitBytes}`)
    this.checkpoints =
      file === ':memory:'
        ? undefined
        : new WalCheckpointer(file, () => this.checkpointHere(), undefined, {
            gate: this.gate,
            walLimitBytes: walFileLimitBytes,
          })
    this.migrate()
    this.runs = new JsonTable(this.db, 'runs', columns.runs, true)
    this.sessions = new JsonTable(this.db, 'sessions', columns.sessions, true)
    this.turns = new JsonTable(this.db, 'turns', columns.turns)
    this.approvals = new JsonTable(this.db, 'approvals', columns.approvals)
    this.webhooks = new JsonTable(this.db, 'webhook_outbox', columns.webhook_outbox)
    this.stmts = {
      dueWebhooks: this.db.prepare(
        "SELECT body FROM webhook_outbox WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
      ),
      nextWebhookAt: this.db.prepare(
        "SELECT MIN(next_attempt_at) AS at FROM webhook_outbox WHERE state = 'pending'",
      ),
      // The owner must exist; the row is read, not rewritten (its lastSeq is the events' MAX(seq)). The body is
      // bound as the JSON's UTF-8 bytes (encoded once, see jsonBytesOnce) and stored as the same TEXT.
      insertRunEvent: this.db.prepare(
        'INSERT INTO events (owner_id, seq, type, at, body) SELECT ?, ?, ?, ?, CAST(? AS TEXT) WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?)',
      ),
      insertSessionEvent: this.db.prepare(
        'INSERT INTO events (owner_id, seq, type, at, body) SELECT ?, ?, ?, ?, CAST(? AS TEXT) WHERE EXISTS (SELECT 1 FROM sessions WHERE id = ?)',
      ),
      // A session's event appended with the claim its node holds: the claim is checked by the insert itself, in
      // the lookup of the session it makes anyway (one statement, atomic). The (id, claim) index answers it alone,
      // as the primary key's did before: without INDEXED BY the planner takes the unique index and reads the row.
      insertClaimedSessionEvent: this.db.prepare(
        'INSERT INTO events (owner_id, seq, type, at, body) SELECT ?, ?, ?, ?, CAST(? AS TEXT) WHERE EXISTS (SELECT 1 FROM sessions INDEXED BY sessions_claim WHERE id = ? AND claim = ?)',
      ),
      // A run's event appended by the node that executes it: the same, its owner checked in the run's lookup.
      insertOwnedRunEvent: this.db.prepare(
        'INSERT INTO events (owner_id, seq, type, at, body) SELECT ?, ?, ?, ?, CAST(? AS TEXT) WHERE EXISTS (SELECT 1 FROM runs INDEXED BY runs_owner WHERE id = ? AND node_id = ?)',
      ),
      lastSeq: this.db.prepare('SELECT MAX(seq) AS seq FROM events WHERE owner_id = ?').pluck(),
      lastEventType: this.db
        .prepare('SELECT type FROM events WHERE owner_id = ? ORDER BY seq DESC LIMIT 1')
        .pluck(),
      eventsAfter: this.db.prepare(
        'SELECT body FROM events WHERE owner_id = ? AND seq > ? ORDER BY seq LIMIT ?',
      ),
      deleteFinishedEvents: this.db.prepare(
        'DELETE FROM events WHERE owner_id IN (SELECT id FROM runs WHERE finished_at IS NOT NULL AND finished_at < ?)',
      ),
      deleteFinished: this.db.prepare('DELETE FROM runs WHERE finished_at IS NOT NULL AND finished_at < ?'),
      countUnfinished: this.db.prepare(
        "SELECT count(*) AS n FROM runs WHERE status IN ('queued', 'running')",
      ),
      setRunNode: this.db.prepare('UPDATE runs SET node_id = ? WHERE id = ?'),
      setSessionNode: this.db.prepare('UPDATE sessions SET node_id = ? WHERE id = ?'),
      claimRun: this.db.prepare(
        `UPDATE runs SET node_id = @node, claimed_at = @at WHERE id = @id AND status = 'queued'
         AND claimed_at IS NULL AND (node_id IS NULL OR node_id = @node) RETURNING ${this.runs.readColumns}`,
      ),
      nextClaimable: this.db.prepare(
        `SELECT id FROM runs WHERE status = 'queued' AND claimed_at IS NULL AND (node_id IS NULL OR node_id = ?)
         ORDER BY id LIMIT 1`,
      ),
      runOwner: this.db.prepare('SELECT node_id FROM runs WHERE id = ?'),
      sessionOwner: this.db.prepare('SELECT node_id FROM sessions WHERE id = ?'),
      sessionClaim: this.db.prepare('SELECT claim, node_id FROM sessions WHERE id = ?'),
      // A turn step's fence and the state it computes from, in one read of the session's row (turnClaimedState:
      // the turn's session's); inside the step's IMMEDIATE transaction, so it is what the step's write follows.
      claimedState: this.db.prepare(
        `SELECT claim, node_id, status, EXISTS (SELECT 1 FROM approvals WHERE session_id = sessions.id AND
         state = 'pending') AS pending FROM sessions WHERE id = ?`,
      ),
      turnClaim: this.db.prepare(
        'SELECT s.id AS session_id, s.claim, s.node_id FROM turns t JOIN sessions s ON s.id = t.session_id WHERE t.id = ?',
      ),
      turnClaimedState: this.db.prepare(
        `SELECT s.id AS session_id, s.claim, s.node_id, s.status, EXISTS (SELECT 1 FROM approvals WHERE
         session_id = s.id AND state = 'pending') AS pending FROM turns t JOIN sessions s ON s.id = t.session_id
         WHERE t.id = ?`,
      ),
      claimSession: this.db
        .prepare('UPDATE sessions SET node_id = ?, claim = claim + 1 WHERE id = ? RETURNING claim')
        .pluck(),
      ownersInUse: this.db.prepare(ownersInUseSql),
      // A turn's start and end write the session's state read in the same statement: an archive that landed
      // since the caller computed the state is kept (the status is not written over 'archived').
      countTurn: this.db.prepare(
        `UPDATE sessions SET status = ${keptUnlessArchived}, body = json_set(body, '$.turnCount',
         json_extract(body, '$.turnCount') + 1, '$.updatedAt', @at, '$.status', ${keptUnlessArchived}) WHERE id = @id
         RETURNING status`,
      ),
      setSessionStatus: this.db.prepare(
        `UPDATE sessions SET status = @status, body = json_set(body, '$.status', @status, '$.updatedAt', @at)
         WHERE id = @id AND status != 'archived'`,
      ),
      sessionState: this.db.prepare(
        `SELECT status, EXISTS (SELECT 1 FROM approvals WHERE session_id = sessions.id AND state = 'pending')
         AS pending, node_id FROM sessions WHERE id = ?`,
      ),
      upsertNode: this.db.prepare(
        `INSERT INTO nodes (id, role, host, pid, started_at, heartbeat_at)
         VALUES (@id, @role, @host, @pid, @startedAt, @heartbeatAt)
         ON CONFLICT (id) DO UPDATE SET role = @role, host = @host, pid = @pid, heartbeat_at = @heartbeatAt,
         lost_at = NULL`,
      ),
      // A node marked lost stays registered, its heartbeat no longer recorded (Store.heartbeat).
      heartbeat: this.db.prepare(
        'UPDATE nodes SET heartbeat_at = CASE WHEN lost_at IS NULL THEN ? ELSE heartbeat_at END WHERE id = ?',
      ),
      isMember: this.db.prepare('SELECT 1 FROM nodes WHERE id = ? AND lost_at IS NULL').pluck(),
      listNodes: this.db.prepare(
        `SELECT id, role, host, pid, started_at AS startedAt, heartbeat_at AS heartbeatAt FROM nodes ORDER BY id`,
      ),
      removeNode: this.db.prepare('DELETE FROM nodes WHERE id = ?'),
    }
    // The transactions of every turn and event batch, made once (better-sqlite3 builds four wrappers per
    // `transaction()` call).
    this.tx = refusalsMarked(this.diskMark, this.gate, {
      // A claimer (or a new session's owner) must be a member, checked in the step's own write transaction
      // (Store.claimRun).
      claimRun: this.db.transaction((id: string, node: string) => {
        this.mustBeMember(node)
        return this.runs.parseRow(this.stmts.claimRun.get({ id, node, at: new Date().toISOString() }))
      }),
      claimNextRun: this.db.transaction((node: string) => {
        this.mustBeMember(node)
        const next = this.stmts.nextClaimable.get(node) as { id: string } | undefined
        if (!next) return undefined
        return this.runs.parseRow(
          this.stmts.claimRun.get({ id: next.id, node, at: new Date().toISOString() }),
        )
      }),
      claimSession: this.db.transaction((id: string, node: string): SessionClaim => {
        this.mustBeMember(node)
        return (this.stmts.claimSession.get(node, id) as SessionClaim | undefined) ?? 0
      }),
      // A write that carries a claim checks it in its own write transaction (Store.SessionClaim).
      fenced: this.db.transaction(<T>(sessionId: string, claim: SessionClaim, write: () => T): T => {
        this.holdsClaim(sessionId, claim)
        return write()
      }),
      // A turn step that carries a claim: the same, and with `withState` the step gets the session's state read
      // with its claim (one statement).
      fencedStep: this.db.transaction(
        <T>(
          sessionId: string,
          claim: SessionClaim,
          withState: boolean,
          write: (read?: SessionStateRead) => T,
        ): T => {
          if (!withState) {
            this.holdsClaim(sessionId, claim)
            return write()
          }
          return write(
            claimedRead(sessionId, claim, this.stmts.claimedState.get(sessionId) as ClaimedStateRow),
          )
        },
      ),
      // The same for a step of turn `turnId` (its session found in the same read); an unknown turn passes.
      fencedTurnStep: this.db.transaction(
        <T>(
          turnId: string,
          claim: SessionClaim,
          withState: boolean,
          write: (read?: SessionStateRead) => T,
        ): T => {
          const row = (withState ? this.stmts.turnClaimedState : this.stmts.turnClaim).get(turnId) as
            | (ClaimedStateRow & { session_id: string })
            | undefined
          return write(row && claimedRead(row.session_id, claim, row, withState))
        },
      ),
      // Several writes in one transaction, none of which is one already (SqliteStore.completeTurnWithEvents).
      inOne: this.db.transaction(<T>(write: () => T): T => write()),
      // A run's write (with its events) by the node that executes it: only while that node owns it
      // (Store.updateRun, Store.updateRunWithEvents).
      updateRunWithEvents: this.db.transaction(
        (id: string, patch: Partial<Run>, owner: string | undefined, batch: readonly EventToAppend[]) => {
          if (owner !== undefined && (this.stmts.runOwner.get(id) as OwnerRow | undefined)?.node_id !== owner)
            return { updated: false, events: [] }
          if (this.runs.update(id, patch) === undefined) return { updated: false, events: [] }
          return {
            updated: true,
            events: batch.map((b) => this.insertEvent(b.ownerId, b.event, b.at, b.fence)),
          }
        },
      ),
      admitRun: this.db.transaction(
        (run: Run, owner: string | null, maxUnfinished: number, batch: readonly EventToAppend[]) => {
          if (owner !== null) this.mustBeMember(owner)
          const { n } = this.stmts.countUnfinished.get() as { n: number }
          if (n >= maxUnfinished) return false
          this.runs.insert(run)
          this.stmts.setRunNode.run(owner, run.id)
          return batch.map((b) => this.insertEvent(b.ownerId, b.event, b.at, b.fence))
        },
      ),
      createSession: this.db.transaction((s: Session, owner: string, batch: readonly EventToAppend[]) => {
        this.mustBeMember(owner)
        this.sessions.insert(s)
        this.stmts.setSessionNode.run(owner, s.id)
        return batch.map((b) => this.insertEvent(b.ownerId, b.event, b.at, b.fence))
      }),
      appendEvents: this.db.transaction((batch: readonly EventToAppend[]) =>
        batch.map((b) => this.insertEvent(b.ownerId, b.event, b.at, b.fence)),
      ),
      appendRunEnd: this.db.transaction(
        (runId: string, completed: RunCompletedEvent, at: string, fence: string): StoredEvent | undefined =>
          this.stmts.lastEventType.get(runId) === 'run.completed'
            ? undefined
            : this.insertEvent(runId, completed, at, fence),
      ),
      updateTurn: this.db.transaction(
        (id: string, patch: Partial<Omit<Turn, 'id'>>, session: SessionStateChange): TurnStep | undefined => {
          const turn = this.turns.update(id, patch)
          if (!turn) return undefined
          const { changes } = this.stmts.setSessionStatus.run({ ...session, id: turn.sessionId })
          return { turn, status: changes === 1 ? session.status : undefined }
        },
      ),
      // on its own; inside another transaction its step runs as that one's part (completeTurnStep)
      completeTurn: this.db.transaction(
        (
          id: string,
          patch: Partial<Omit<Turn, 'id' | 'sessionId'>>,
          at: string,
          status?: Session['status'],
        ) => this.completeTurnStep(id, patch, at, status),
      ),
    })
  }

  /**
   * A turn's end: its row, and its session's state and turn count; in the caller's transaction (called from a
   * transaction function, better-sqlite3 would nest it as a SAVEPOINT and its RELEASE: two statements a turn that
   * no partial rollback needs).
   */
  private completeTurnStep(
    id: string,
    patch: Partial<Omit<Turn, 'id' | 'sessionId'>>,
    at: string,
    statusOrFromRead?: Session['status'] | StatusFromRead,
    read?: SessionStateRead,
  ): TurnStep | undefined {
    const turn = this.turns.update(id, patch)
    if (!turn) return undefined
    const status =
      typeof statusOrFromRead === 'function'
        ? this.fromStateRead(turn.sessionId, statusOrFromRead, read)
        : statusOrFromRead
    const row = this.stmts.countTurn.get({ status: status ?? null, at, id: turn.sessionId }) as
      | { status: Session['status'] }
      | undefined
    // kept archived: the status asked for was not stored
    return { turn, status: status !== undefined && row?.status === status ? status : undefined }
  }

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number
    for (let v = current; v < migrations.length; v++) {
      this.db.transaction(() => {
        this.db.exec(migrations[v]!)
        this.db.pragma(`user_version = ${v + 1}`)
      })()
    }
    // A new file's migrations write every page of the schema to the WAL (about 400 KB in 8 KB pages), and the WAL
    // file keeps that size: past the checkpointer's inline limit, an idle server's first heartbeat checkpoint would
    // start its worker thread (about 14 MB of RSS). Emptied here, before anything else uses the store.
    if (current < migrations.length && this.file !== ':memory:') this.emptyWal()
  }

  /** Copies the WAL into the database and cuts the file to nothing; left as it is if another connection holds it. */
  private emptyWal(): void {
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)')
    } catch {
      // busy or its disk full: the checkpointer copies it later, as any WAL
    }
  }

  async createRun(run: Run): Promise<void> {
    this.written(() => this.runs.insert(run))
  }

  async holdRequestKey(
    tenant: string | null,
    key: string,
    hold: RequestKeyHold,
    at: string,
    keptSince: string,
  ): Promise<HeldRequestKey | undefined> {
    return this.written(() =>
      this.db
        .transaction(() => {
          this.db.prepare('DELETE FROM run_keys WHERE at < ?').run(keptSince)
          const held = this.db
            .prepare('SELECT run_id AS resourceId, digest, at FROM run_keys WHERE tenant = ? AND key = ?')
            .get(tenant ?? '', key) as HeldRequestKey | undefined
          if (held) return { resourceId: held.resourceId, digest: held.digest, at: held.at }
          this.db
            .prepare('INSERT INTO run_keys (tenant, key, run_id, digest, at) VALUES (?, ?, ?, ?, ?)')
            .run(tenant ?? '', key, hold.resourceId, hold.digest, at)
          return undefined
        })
        .immediate(),
    )
  }

  async releaseRequestKey(tenant: string | null, key: string, resourceId: string): Promise<void> {
    this.written(() =>
      this.db
        .prepare('DELETE FROM run_keys WHERE tenant = ? AND key = ? AND run_id = ?')
        .run(tenant ?? '', key, resourceId),
    )
  }

  async retakeRequestKey(
    tenant: string | null,
    key: string,
    held: HeldRequestKey,
    at: string,
  ): Promise<boolean> {
    return this.written(
      () =>
        this.db
          .prepare('UPDATE run_keys SET at = ? WHERE tenant = ? AND key = ? AND run_id = ? AND at = ?')
          .run(at, tenant ?? '', key, held.resourceId, held.at).changes === 1,
    )
  }

  async admitRun(
    run: Run,
    owner: string | null,
    maxUnfinished: number,
    events: readonly EventToAppend[] = [],
  ): Promise<StoredEvent[] | false> {
    try {
      // IMMEDIATE: the count and the insert hold the write lock together, also against other processes.
      return this.tx.admitRun.immediate(run, owner, maxUnfinished, events)
    } catch (err) {
      // Rolled back (its full disk refused the run): the seqs noted for its events were never stored.
      for (const b of events) this.lastSeqs.forget(b.ownerId)
      throw err
    }
  }

  async claimRun(id: string, node: string): Promise<Run | undefined> {
    return this.tx.claimRun.immediate(id, node)
  }

  async claimNextRun(node: string): Promise<Run | undefined> {
    return this.tx.claimNextRun.immediate(node)
  }

  /** Throws NotAMember unless `node` is registered and not marked lost (inside the caller's transaction). */
  private mustBeMember(node: string): void {
    if (this.stmts.isMember.get(node) === undefined) throw new NotAMember(node)
  }

  /** SessionTakenOver when the session's claim is no longer `claim` (an unknown session passes: not found later). */
  private holdsClaim(sessionId: string, claim: SessionClaim): void {
    const row = this.stmts.sessionClaim.get(sessionId) as
      | { claim: number; node_id: string | null }
      | undefined
    if (row && row.claim !== claim) throw new SessionTakenOver(sessionId, row.node_id)
  }

  /**
   * `write`, or with `claim` `write` in a write transaction that first checks the claim of the turn's session and,
   * `withState` (the step computes its state from a read), gives `write` that session's state, read with the claim
   * (one statement).
   */
  private fencedTurn<T>(
    turnId: string,
    claim: SessionClaim | undefined,
    write: (read?: SessionStateRead) => T,
    withState = false,
  ): T {
    if (claim === undefined) return this.written(write)
    return this.tx.fencedTurnStep.immediate(turnId, claim, withState, write) as T
  }

  async updateRun(id: string, patch: Partial<Omit<Run, 'id'>>, owner?: string): Promise<boolean> {
    if (owner === undefined) return this.written(() => this.runs.update(id, patch)) !== undefined
    return this.tx.updateRunWithEvents.immediate(id, patch, owner, []).updated
  }

  async updateRunWithEvents(
    id: string,
    patch: Partial<Omit<Run, 'id'>>,
    owner: string | undefined,
    events: readonly EventToAppend[],
  ): Promise<{ updated: boolean; events: StoredEvent[] }> {
    try {
      return this.tx.updateRunWithEvents.immediate(id, patch, owner, events)
    } catch (err) {
      // Rolled back (a run's end its full disk refused): the seqs noted for these events were never stored.
      for (const b of events) this.lastSeqs.forget(b.ownerId)
      throw err
    }
  }

  async getRun(id: string): Promise<Run | undefined> {
    return this.runs.get(id)
  }

  async listRuns(filter: RunFilter): Promise<Run[]> {
    return this.runs.where(
      { status: filter.status, agent: filter.agent, tenant: filter.tenant },
      { limit: filter.limit, before: filter.before },
    )
  }

  async takeOverRuns(lost: readonly string[], to: string): Promise<Run[]> {
    return this.takeOver(this.runs, 'runs', lost, to).taken
  }

  async takeOverRunsMissingEnd(lost: readonly string[], to: string): Promise<Run[]> {
    return this.takeOver(this.runs, 'runs', lost, to, endMissingWhere).taken
  }

  async appendRunEnd(
    runId: string,
    completed: RunCompletedEvent,
    at: string,
    fence: string,
  ): Promise<StoredEvent | undefined> {
    try {
      return this.tx.appendRunEnd.immediate(runId, completed, at, fence)
    } catch (err) {
      this.lastSeqs.forget(runId)
      throw err
    }
  }

  /**
   * What the `lost` nodes still hold of `table` (heldHere, or `held`) goes to `to`, each row to one taker: the
   * rows taken and, for sessions, the claim each has now.
   */
  private takeOver<T extends { id: string }>(
    docs: JsonTable<T>,
    table: keyof typeof heldHere,
    lost: readonly string[],
    to: string,
    held: string = heldHere[table],
  ): { taken: T[]; claims: Map<string, SessionClaim> } {
    if (lost.length === 0) return { taken: [], claims: new Map() }
    const where = `WHERE ${held} AND node_id IN (${lost.map(() => '?').join(', ')})`
    const tx = this.db.transaction(() => {
      const taken = docs.select(`${where} ORDER BY id`, [...lost])
      // nothing held (the common case): the same search again in the update would find nothing either
      if (taken.length === 0) return { taken, claims: new Map<string, SessionClaim>() }
      // a session taken over gets a new claim: what the lost node still writes for it is refused
      const claim = table === 'sessions' ? ', claim = claim + 1' : ''
      const returning = table === 'sessions' ? ' RETURNING id, claim' : ''
      const moved = this.db.prepare(`UPDATE ${table} SET node_id = ?${claim} ${where}${returning}`)
      if (!returning) {
        moved.run(to, ...lost)
        return { taken, claims: new Map<string, SessionClaim>() }
      }
      const rows = moved.all(to, ...lost) as { id: string; claim: number }[]
      return { taken, claims: new Map(rows.map((r) => [r.id, r.claim])) }
    })
    return this.written(() => tx.immediate())
  }

  async ownerOf(id: string): Promise<string | null | undefined> {
    const stmt = id.startsWith('ses_') ? this.stmts.sessionOwner : this.stmts.runOwner
    const row = stmt.get(id) as { node_id: string | null } | undefined
    return row ? row.node_id : undefined
  }

  async ownersInUse(): Promise<string[]> {
    return (this.stmts.ownersInUse.all() as { node_id: string }[]).map((r) => r.node_id).sort()
  }

  async deleteFinishedBefore(cutoff: string): Promise<number> {
    const tx = this.db.transaction(() => {
      this.stmts.deleteFinishedEvents.run(cutoff)
      return this.stmts.deleteFinished.run(cutoff).changes
    })
    return this.written(() => tx())
  }

  /**
   * Events belong to a run (`run_…`) or a session (`ses_…`); seq is per owner: the owner's MAX(seq) + 1, known
   * from the last append (`lastSeqs`) or read back. One event is one INSERT, atomic by itself.
   */
  async appendEvent(
    ownerId: string,
    event: AgentEvent,
    at: string,
    fence?: EventFence,
  ): Promise<StoredEvent> {
    return this.insertEvent(ownerId, event, at, fence)
  }

  async appendEvents(batch: readonly EventToAppend[]): Promise<StoredEvent[]> {
    try {
      return this.tx.appendEvents(batch)
    } catch (err) {
      // Rolled back: the seqs noted for this batch were never stored.
      for (const b of batch) this.lastSeqs.forget(b.ownerId)
      throw err
    }
  }

  async eventsAfter(ownerId: string, afterSeq: number, limit: number): Promise<StoredEvent[]> {
    const rows = this.stmts.eventsAfter.all(ownerId, afterSeq, limit) as { body: string }[]
    return rows.map((r) => parseJsonOnce<StoredEvent>(r.body))
  }

  /**
   * The owner's next seq and its event row. Another connection may have appended meanwhile: then read again.
   * With `fence`, the row is inserted only while it holds (a session's claim, a run's owner).
   */
  private insertEvent(ownerId: string, event: AgentEvent, at: string, fence?: EventFence): StoredEvent {
    const isSession = ownerId.startsWith('ses_')
    const insert = this.eventInsert(ownerId, isSession, event.type, at, fence)
    const owner = isSession ? { sessionId: ownerId } : { runId: ownerId }
    let last = this.lastSeqs.get(ownerId)
    for (let attempt = 1; ; attempt++) {
      last ??= (this.stmts.lastSeq.get(ownerId) as number | null) ?? 0
      const stored = { ...event, seq: last + 1, at, ...owner } as StoredEvent
      let inserted: number
      try {
        inserted = insert(stored.seq, jsonBytesOnce(stored))
      } catch (err) {
        this.lastSeqs.forget(ownerId)
        if (!isSeqTaken(err) || attempt >= maxSeqAttempts) throw err
        last = undefined
        continue
      }
      if (inserted === 0) {
        // rare: tell a stale fence (the owner exists) from an unknown owner
        if (fence !== undefined) this.holdsFence(ownerId, isSession, fence)
        throw new Error(`appendEvent: unknown ${isSession ? 'session' : 'run'} ${ownerId}`)
      }
      this.lastSeqs.set(ownerId, stored.seq)
      return stored
    }
  }

  /**
   * The insert of one event of the owner (typed `type`, at `at`) for a seq and body: the rows it stored (0: no such
   * owner, or the fence no longer holds). A fenced insert checks its fence in the owner's lookup it makes anyway.
   */
  private eventInsert(
    ownerId: string,
    isSession: boolean,
    type: string,
    at: string,
    fence: EventFence | undefined,
  ): (seq: number, body: Buffer) => number {
    const { stmts } = this
    if (fence === undefined) {
      const stmt = isSession ? stmts.insertSessionEvent : stmts.insertRunEvent
      return (seq, body) => stmt.run(ownerId, seq, type, at, body, ownerId).changes
    }
    if (isSession) {
      const claim = sessionFence(ownerId, fence)
      return (seq, body) =>
        stmts.insertClaimedSessionEvent.run(ownerId, seq, type, at, body, ownerId, claim).changes
    }
    const node = runFence(ownerId, fence)
    return (seq, body) => stmts.insertOwnedRunEvent.run(ownerId, seq, type, at, body, ownerId, node).changes
  }

  /** SessionTakenOver or RunTakenOver when the owner's fence no longer holds (an unknown owner passes). */
  private holdsFence(ownerId: string, isSession: boolean, fence: EventFence): void {
    if (isSession) {
      this.holdsClaim(ownerId, sessionFence(ownerId, fence))
      return
    }
    const node = runFence(ownerId, fence)
    const row = this.stmts.runOwner.get(ownerId) as { node_id: string | null } | undefined
    if (row && row.node_id !== node) throw new RunTakenOver(ownerId, node, row.node_id)
  }

  async createSession(
    s: Session,
    owner: string,
    events: readonly EventToAppend[] = [],
  ): Promise<StoredEvent[]> {
    try {
      return this.tx.createSession.immediate(s, owner, events)
    } catch (err) {
      // Rolled back (its full disk refused the session): the seqs noted for its events were never stored.
      for (const b of events) this.lastSeqs.forget(b.ownerId)
      if (s.externalId !== undefined && isExternalIdTaken(err)) throw new ExternalIdTaken(s.externalId)
      throw err
    }
  }

  async claimSession(id: string, node: string): Promise<SessionClaim> {
    return this.tx.claimSession.immediate(id, node)
  }

  async takeOverSessions(lost: readonly string[], to: string): Promise<TakenSession[]> {
    const { taken, claims } = this.takeOver(this.sessions, 'sessions', lost, to)
    return taken.map((s) => ({ ...s, claim: claims.get(s.id)! }))
  }

  async updateSession(
    id: string,
    patch: Partial<Omit<Session, 'id'>>,
    claim?: SessionClaim,
  ): Promise<Session | undefined> {
    const write = () => this.sessions.update(id, patch)
    return claim === undefined
      ? this.written(write)
      : (this.tx.fenced.immediate(id, claim, write) as Session | undefined)
  }

  async setSessionStateWithEvents(
    id: string,
    change: SessionStateSet,
    claim: SessionClaim | undefined,
    eventsOf: (stored: boolean) => readonly EventToAppend[],
  ): Promise<{ stored: boolean; events: StoredEvent[] }> {
    const done = this.withEvents(
      () => this.storeState(id, change),
      eventsOf,
      (write) =>
        claim === undefined ? this.tx.inOne.immediate(write) : this.tx.fenced.immediate(id, claim, write),
    )
    return { stored: done.step, events: done.events }
  }

  /**
   * The session's new state, unless it is archived, and with it its fields (the merge JsonTable.update makes
   * follows the state's statement), in the caller's transaction; whether it was stored.
   */
  private storeState(id: string, change: SessionStateSet): boolean {
    const { fields, ...state } = change
    const stored = this.stmts.setSessionStatus.run({ ...state, id }).changes === 1
    if (stored && fields) this.sessions.update(id, fields)
    return stored
  }

  async getSession(id: string): Promise<Session | undefined> {
    return this.sessions.get(id)
  }

  async sessionState(id: string): Promise<SessionStateRead | undefined> {
    return this.readSessionState(id)
  }

  private readSessionState(id: string): SessionStateRead | undefined {
    const row = this.stmts.sessionState.get(id) as
      | { status: Session['status']; pending: number; node_id: string | null }
      | undefined
    return row && { status: row.status, pendingApproval: row.pending === 1, owner: row.node_id }
  }

  /**
   * What `from` computes from the session's state read now, in the caller's transaction (a turn step's state:
   * StatusFromRead, StateChangeFromRead), or from `read`, the state a fenced step read with its claim in that
   * transaction; the step's write follows. session-archive-race.test.ts lands another node's archive right after
   * this read, before that write.
   */
  private fromStateRead<T>(
    sessionId: string,
    from: (read: SessionStateRead) => T | undefined,
    read: SessionStateRead | undefined = this.readSessionState(sessionId),
  ): T | undefined {
    return read && from(read)
  }

  /** The state change asked for, or computed from the session's state read now (in the caller's transaction). */
  private changeOf(
    sessionId: string,
    change: SessionStateChange | StateChangeFromRead | undefined,
    read?: SessionStateRead,
  ): SessionStateChange | undefined {
    return typeof change === 'function' ? this.fromStateRead(sessionId, change, read) : change
  }

  async findSessionByAgentId(agentSessionId: string): Promise<Session | undefined> {
    return this.sessions.where({ agent_session_id: agentSessionId }, { limit: 1 })[0]
  }

  async findSessionByExternalId(externalId: string): Promise<Session | undefined> {
    return this.sessions.where({ external_id: externalId }, { limit: 1 })[0]
  }

  async listSessions(filter: SessionFilter): Promise<Session[]> {
    return this.sessions.where(
      { status: filter.status, agent: filter.agent, tenant: filter.tenant },
      { limit: filter.limit, before: filter.before },
    )
  }

  async countSessions(tenant?: string | null): Promise<SessionCounts> {
    return Object.fromEntries(this.sessions.countBy('status', { tenant })) as SessionCounts
  }

  async createTurn(
    t: Turn,
    claim?: SessionClaim,
    session?: SessionStateChange,
  ): Promise<TurnStep | undefined> {
    const write = () => this.insertTurn(t, session)
    if (claim !== undefined)
      return this.tx.fenced.immediate(t.sessionId, claim, write) as TurnStep | undefined
    return session ? (this.tx.inOne.immediate(write) as TurnStep | undefined) : this.written(write)
  }

  async createTurnWithEvents(
    t: Turn,
    claim: SessionClaim | undefined,
    sessionOrFromRead: SessionStateChange | StateChangeFromRead | undefined,
    eventsOf: (step: TurnStep | undefined) => readonly EventToAppend[],
  ): Promise<{ step: TurnStep | undefined; events: StoredEvent[] }> {
    return this.withEvents(
      (read) => this.insertTurn(t, this.changeOf(t.sessionId, sessionOrFromRead, read)),
      eventsOf,
      (write) =>
        claim === undefined
          ? this.tx.inOne.immediate(write)
          : this.tx.fencedStep.immediate(t.sessionId, claim, typeof sessionOrFromRead === 'function', write),
    )
  }

  /** The turn's row, and with `session` its session's state (unless archived), in the caller's transaction. */
  private insertTurn(t: Turn, session: SessionStateChange | undefined): TurnStep | undefined {
    this.turns.insert(t)
    if (!session) return undefined
    const { changes } = this.stmts.setSessionStatus.run({ ...session, id: t.sessionId })
    return { turn: t, status: changes === 1 ? session.status : undefined }
  }

  async updateTurn(
    id: string,
    patch: Partial<Omit<Turn, 'id'>>,
    session?: SessionStateChange,
    claim?: SessionClaim,
  ): Promise<TurnStep | undefined> {
    return this.fencedTurn(id, claim, () => {
      if (session) return this.tx.updateTurn(id, patch, session)
      const turn = this.turns.update(id, patch)
      return turn && { turn, status: undefined }
    })
  }

  async updateTurnWithEvents(
    id: string,
    patch: Partial<Omit<Turn, 'id'>>,
    sessionOrFromRead: SessionStateChange | StateChangeFromRead | undefined,
    claim: SessionClaim | undefined,
    eventsOf: (step: TurnStep) => readonly EventToAppend[],
  ): Promise<{ step: TurnStep | undefined; events: StoredEvent[] }> {
    return this.withEvents(
      (read) => {
        const turn = this.turns.update(id, patch)
        if (!turn) return undefined
        const session = this.changeOf(turn.sessionId, sessionOrFromRead, read)
        if (!session) return { turn, status: undefined }
        const { changes } = this.stmts.setSessionStatus.run({ ...session, id: turn.sessionId })
        return { turn, status: changes === 1 ? session.status : undefined }
      },
      (step) => (step ? eventsOf(step) : []),
      (write) =>
        claim === undefined
          ? this.tx.inOne.immediate(write)
          : this.fencedTurn(id, claim, write, typeof sessionOrFromRead === 'function'),
    )
  }

  /**
   * `step`, then the events `eventsOf` gives for what it did, in one transaction that `inTransaction` opens
   * (fenced or not); rolled back whole when an event is refused.
   */
  private withEvents<S>(
    step: (read?: SessionStateRead) => S,
    eventsOf: (done: S) => readonly EventToAppend[],
    inTransaction: (write: (read?: SessionStateRead) => { step: S; events: StoredEvent[] }) => unknown,
  ): { step: S; events: StoredEvent[] } {
    let appended: readonly EventToAppend[] = []
    const write = (read?: SessionStateRead) => {
      const done = step(read)
      appended = eventsOf(done)
      return { step: done, events: appended.map((b) => this.insertEvent(b.ownerId, b.event, b.at, b.fence)) }
    }
    try {
      return inTransaction(write) as { step: S; events: StoredEvent[] }
    } catch (err) {
      // Rolled back: the seqs noted for these events were never stored.
      for (const b of appended) this.lastSeqs.forget(b.ownerId)
      throw err
    }
  }

  async getTurn(id: string): Promise<Turn | undefined> {
    return this.turns.get(id)
  }

  async completeTurn(
    id: string,
    patch: Partial<Omit<Turn, 'id' | 'sessionId'>>,
    at: string,
    status?: Session['status'],
    claim?: SessionClaim,
  ): Promise<TurnStep | undefined> {
    // immediate on its own (it reads, then writes); inside `fenced` it is that transaction's part
    return claim === undefined
      ? this.tx.completeTurn.immediate(id, patch, at, status)
      : this.fencedTurn(id, claim, (read) => this.completeTurnStep(id, patch, at, status, read))
  }

  async completeTurnWithEvents(
    id: string,
    patch: Partial<Omit<Turn, 'id' | 'sessionId'>>,
    at: string,
    status: Session['status'] | StatusFromRead | undefined,
    claim: SessionClaim | undefined,
    eventsOf: (step: TurnStep | undefined) => readonly EventToAppend[],
  ): Promise<{ step: TurnStep | undefined; events: StoredEvent[] }> {
    return this.withEvents(
      (read) => this.completeTurnStep(id, patch, at, status, read),
      eventsOf,
      (write) =>
        claim === undefined
          ? this.tx.inOne.immediate(write)
          : this.fencedTurn(id, claim, write, typeof status === 'function'),
    )
  }

  async listTurns(sessionId: string, status?: Turn['status']): Promise<Turn[]> {
    return this.turns.where({ session_id: sessionId, status }, { ascending: true })
  }

  async createApproval(a: Approval): Promise<void> {
    this.written(() => this.approvals.insert(a))
  }

  async updateApproval(id: string, patch: Partial<Omit<Approval, 'id'>>): Promise<Approval | undefined> {
    return this.written(() => this.approvals.update(id, patch))
  }

  async getApproval(id: string): Promise<Approval | undefined> {
    return this.approvals.get(id)
  }

  async resolveApproval(
    id: string,
    answer: ApprovalAnswer,
    claim?: SessionClaim,
  ): Promise<Approval | undefined> {
    const tx = this.db.transaction(() => {
      const current = this.approvals.get(id)
      if (current?.state !== 'pending') return undefined
      if (claim !== undefined) this.holdsClaim(current.sessionId, claim)
      return this.approvals.update(id, { state: 'resolved', ...answer })
    })
    return this.written(() => tx.immediate())
  }

  async listApprovals(filter: ApprovalFilter): Promise<Approval[]> {
    if (filter.tenant !== undefined) return this.approvalsOfTenant(filter, filter.tenant)
    return this.approvals.where(
      { state: filter.state, session_id: filter.sessionId },
      { limit: filter.limit },
    )
  }

  /** Approvals belong to a tenant through their session. */
  private approvalsOfTenant(filter: ApprovalFilter, tenant: string | null): Approval[] {
    const clauses = [
      tenant === null
        ? 'session_id IN (SELECT id FROM sessions WHERE tenant IS NULL)'
        : 'session_id IN (SELECT id FROM sessions WHERE tenant = ?)',
    ]
    const params: unknown[] = tenant === null ? [] : [tenant]
    if (filter.state) {
      clauses.push('state = ?')
      params.push(filter.state)
    }
    if (filter.sessionId) {
      clauses.push('session_id = ?')
      params.push(filter.sessionId)
    }
    params.push(filter.limit ?? -1)
    return this.approvals.select(`WHERE ${clauses.join(' AND ')} ORDER BY id DESC LIMIT ?`, params)
  }

  async enqueueWebhook(delivery: WebhookDelivery): Promise<void> {
    this.written(() => this.webhooks.insert(delivery))
  }

  async updateWebhook(
    id: string,
    patch: Partial<Omit<WebhookDelivery, 'id'>>,
  ): Promise<WebhookDelivery | undefined> {
    return this.written(() => this.webhooks.update(id, patch))
  }

  async getWebhook(id: string): Promise<WebhookDelivery | undefined> {
    return this.webhooks.get(id)
  }

  async dueWebhooks(now: string, limit: number): Promise<WebhookDelivery[]> {
    const rows = this.stmts.dueWebhooks.all(now, limit) as { body: string }[]
    return rows.map((r) => JSON.parse(r.body) as WebhookDelivery)
  }

  async nextWebhookAt(): Promise<string | null> {
    return (this.stmts.nextWebhookAt.get() as { at: string | null }).at
  }

  async registerNode(node: NodeRecord): Promise<void> {
    this.written(() => this.stmts.upsertNode.run(node))
  }

  async heartbeat(id: string, at: string): Promise<boolean> {
    return this.written(() => this.stmts.heartbeat.run(at, id)).changes === 1
  }

  async markNodesLost(ids: readonly string[], at: string): Promise<string[]> {
    if (ids.length === 0) return []
    const mark = this.db
      .prepare(
        `UPDATE nodes SET lost_at = ? WHERE lost_at IS NULL AND id IN (${ids.map(() => '?').join(', ')}) RETURNING id`,
      )
      .pluck()
    const marked = this.written(() => mark.all(at, ...ids)) as string[]
    return marked.sort()
  }

  async listNodes(): Promise<NodeRecord[]> {
    return this.stmts.listNodes.all() as NodeRecord[]
  }

  async removeNode(id: string): Promise<void> {
    this.written(() => this.stmts.removeNode.run(id))
  }

  async ping(): Promise<boolean> {
    return (this.db.prepare('SELECT 1 AS ok').get() as { ok: number }).ok === 1
  }

  /**
   * Whether its disk (DATA_DIR's) refuses a page written beside the database for want of room (ENOSPC): a probe
   * on every call, as /health probes DATA_DIR on every call anyway (a full disk may still take a small write of
   * SQLite's, into the pages its WAL file holds: the probe is what says whether anything more fits).
   */
  async storageFull(probed?: WriteProbe): Promise<boolean> {
    if (this.file === ':memory:') return false
    const dir = path.dirname(this.file)
    const error = probedDir(probed, dir) ? probed.error : probeWrite(dir, 'store-probe')
    if (isDiskFull(error)) {
      this.diskMark.refused(error)
      return true
    }
    // room for a page: the ends refused meanwhile are tried again (onSpaceBack)
    if (error === undefined) this.diskMark.stored()
    return false
  }

  onSpaceBack(listener: () => void): void {
    this.diskMark.onCleared(listener)
  }

  /**
   * The checkpointer's checkpoint on this thread (a small WAL with no worker started, or the worker broken) and,
   * when it copied the whole WAL back, the WAL started over at once (wal-restart-here.ts): the sync of its new header
   * is then made here, on the checkpoint's tick, not inside the next turn's or event's commit. The WAL's mtime after
   * that restart, if it made one.
   */
  private checkpointHere(): InlineCheckpoint {
    const [result] = this.db.pragma('wal_checkpoint(PASSIVE)') as CheckpointResult[]
    return {
      walRestartedAt: copiedAll(result) ? restartWalHere(this.db, this.gate, `${this.file}-wal`) : undefined,
    }
  }

  async close(): Promise<void> {
    await this.checkpoints?.close()
    if (!this.db.open) return
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)')
    } catch {
      // its disk full (SQLITE_FULL): the WAL stays as it is, and the next open replays it; the file still closes
    } finally {
      this.db.close()
    }
  }
}

/**
 * What a node holds (json-documents.ts heldWhere) as SQLite asks it: a session's `archived` column (migration 12, kept
 * by a trigger) rather than its status, so that sessions_node (node_id, archived) answers alone, and a turn's status
 * changes (idle, running) rewrite no index.
 */
const heldHere = { ...heldWhere, sessions: 'archived = 0' } as const

/** The owners in use (json-documents.ts ownersInUseSql), from runs_node and sessions_node alone. */
const ownersInUseSql = `SELECT node_id FROM runs WHERE ${heldHere.runs} AND node_id IS NOT NULL
  UNION SELECT node_id FROM sessions WHERE ${heldHere.sessions} AND node_id IS NOT NULL`

/** A session's new status (`@status`; null: unchanged), unless it is archived: then it stays archived. */
const keptUnlessArchived = "CASE WHEN status = 'archived' THEN status ELSE coalesce(@status, status) END"

/**
 * The page size of a new store file, bytes (SQLite's default is 4 KB). An agent's output event is tens of KB: in
 * 4 KB pages a 35 KB row spills over 8 overflow pages, each a WAL frame written with two system calls at commit
 * and copied again by the checkpoint; 8 KB pages halve those. 16 KB pages cut them further but cost a warm turn's
 * small commits ~0.3 ms (each writes whole pages to the WAL): docs/benchmarks.md, "Issue 14, session 42".
 */
export const pageBytes = 8 * 1024

/** The connection's page cache, KiB. */
const pageCacheKiB = 2048

/** The WAL file's bound (journal_size_limit): larger, it is cut back to this when it starts over. */
export const walFileLimitBytes = 64 * 1024 * 1024

/** Appends that found their seq taken by another connection, one after the other, before giving up. */
const maxSeqAttempts = 5

/** The unique index of the sessions' client-chosen ids refused the row. */
const isExternalIdTaken = (err: unknown) =>
  (err as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE' &&
  (err as Error).message.includes('sessions.external_id')

/** The (owner, seq) primary key refused the row: another connection stored that seq first. */
const isSeqTaken = (err: unknown) => (err as { code?: unknown }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY'

/** `write` run with the write gate held (wal-write-gate.ts), its refusal for a full disk noted in `full`. */
function markedWrite<T>(full: FullDiskMark, gate: WalWriteGate, write: () => T): T {
  try {
    return gate.around(write)
  } catch (err) {
    full.refused(err)
    throw err
  }
}

/**
 * The store's transactions (each called as is or `.immediate`), each one's refusal for a full disk (SQLITE_FULL,
 * at a write or at its commit) noted in `full`, each run with the write gate held (wal-write-gate.ts).
 */
function refusalsMarked<T extends Record<string, Database.Transaction>>(
  full: FullDiskMark,
  gate: WalWriteGate,
  txs: T,
): T {
  const marked = <F extends (...args: never[]) => unknown>(fn: F): F =>
    ((...args: Parameters<F>) => markedWrite(full, gate, () => fn(...args))) as F
  const out: Record<string, Database.Transaction> = {}
  for (const [name, tx] of Object.entries(txs))
    out[name] = Object.assign(marked(tx), {
      default: marked(tx.default),
      deferred: marked(tx.deferred),
      immediate: marked(tx.immediate),
      exclusive: marked(tx.exclusive),
    }) as Database.Transaction
  return out as T
}
