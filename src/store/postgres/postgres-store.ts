import { randomBytes } from 'node:crypto'
import type pg from 'pg'
import type { AgentEvent, RunCompletedEvent, StoredEvent } from '../../protocol/events.js'
import type { Run } from '../../protocol/runs.js'
import type { Approval, Session, Turn } from '../../protocol/sessions.js'
import type { WebhookDelivery } from '../../protocol/webhooks.js'
import { jsonOnce, parseJsonOnce } from '../../util/json-once.js'
import {
  commitLockWait,
  connectionLockWait,
  markIfStoreBusy,
  pgLockNotAvailable,
  StoreLockWait,
} from '../../util/store-busy.js'
import {
  markIfStoreUnavailable,
  markNotStarted,
  pgUnavailable,
  StoreNoAnswer,
} from '../../util/store-unavailable.js'
import type { WriteProbe } from '../../util/write-probe.js'
import { FullDiskMark } from '../full-disk-mark.js'
import {
  documentColumns as columns,
  endMissingWhere,
  heldWhere,
  ownersInUseSql,
  whereClauses,
} from '../json-documents.js'
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
import { AnsweringPool } from './answering-pool.js'
import { migrations } from './migrations/index.js'
import { endPool } from './pg-connections.js'
import { PgJsonTable, type Queryable } from './pg-json-table.js'
import { livenessLockSpace } from './pg-liveness-lock.js'

/** How long PostgreSQL lets a store connection idle inside a transaction, wait for a lock, run a query (ms; 0: never). */
export interface PgTimeouts {
  idleInTransactionMs: number
  lockMs: number
  statementMs: number
}

/** The defaults of PG_IDLE_IN_TRANSACTION_SECONDS, PG_LOCK_TIMEOUT_SECONDS and PG_STATEMENT_TIMEOUT_SECONDS. */
export const defaultPgTimeouts: PgTimeouts = {
  idleInTransactionMs: 10_000,
  lockMs: 30_000,
  statementMs: 60_000,
}

export interface PgStoreOptions {
  /** Connections in the pool (PG_POOL_SIZE; default 10, at least 2). */
  poolSize?: number
  /**
   * Store.commitLanes (PG_EVENT_LOG_LANES): the EventLog's transactions at once. Default half the pool; below the
   * pool's size, so the connections left serve readers, the bus's NOTIFYs and node signals.
   */
  commitLanes?: number
  timeouts?: PgTimeouts
  /**
   * STORE_QUERY_TIMEOUT_SECONDS (ms; 0: never): the client-side bound of a read outside a transaction, of a new
   * connection or a wait for a free one while none of the others is answered, of a transaction's BEGIN and of each of its
   * statements before COMMIT (one cut: COMMIT is never sent, the connection is destroyed, so the server rolls it
   * back). COMMIT and single statements outside a transaction have none: the driver cannot know whether what it
   * sent was stored, so they wait for the server.
   */
  queryTimeoutMs?: number
}

/**
 * A checked-out connection's 'error' (the server ended it between or right after its queries): pg-pool hears it
 * only while the connection is idle, and an 'error' nobody hears is an uncaught exception. The next query on it
 * fails, and the connection is released with that failure.
 */
const ignoreLost = () => {}

/** The default of STORE_QUERY_TIMEOUT_SECONDS, in ms. */
export const defaultQueryTimeoutMs = 10_000

/** The default of PG_POOL_SIZE. */
export const defaultPoolSize = 10

/** The default of PG_EVENT_LOG_LANES: half the pool (rounded down, at least one). */
export const defaultCommitLanes = (poolSize: number) => Math.max(1, Math.floor(poolSize / 2))

/** Refuses a pool without room for one lane and a reader, and lanes that would take every connection. */
function checkPool(poolSize: number, commitLanes: number): void {
  if (!Number.isInteger(poolSize) || poolSize < 2)
    throw new RangeError(`PostgresStore: a pool of ${poolSize} connections (at least 2: a lane and a reader)`)
  if (!Number.isInteger(commitLanes) || commitLanes < 1 || commitLanes >= poolSize)
    throw new RangeError(
      `PostgresStore: ${commitLanes} commit lanes with a pool of ${poolSize} connections (from 1 to ${poolSize - 1}: reads need a connection while every lane commits)`,
    )
}

/**
 * Advisory lock keys (any constant 64-bit numbers, unique to this project). The admission lock's, 7265310002, is
 * taken in the COMMIT of an admission's transaction (agw_admission_check, migration 11), in agw_admission_room by
 * the nodes of before (migration 9).
 */
const migrationLock = 7_265_310_001
/** agw_admission_ask's (and agw_admission_room's) SQLSTATE for a node that is not a member (NotAMember). */
const notAMember = 'AGW01'
/** agw_admission_check's SQLSTATE for a COMMIT refused because the cluster's bound of unfinished runs is reached. */
const overCapacity = 'AGW02'
/** How long a node holds the webhook deliveries it claimed before another node may try them. */
const webhookLeaseMs = 300_000

/** One inOneTransaction call's transaction, shared by the calls of the view it hands out. */
interface SharedTransaction {
  db: Queryable
  /** False once the call settled: a call of its view after that goes to the pool. */
  open: boolean
  /** The first failure of a call in it (caught by its caller or not): the transaction is lost. */
  failed: { err: unknown } | undefined
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1)

const inList = (values: readonly string[], from = 1) => values.map((_, i) => `$${i + from}`).join(', ')

/**
 * The shared store of a gateway cluster: PostgreSQL through node-postgres, one pool per process. Documents
 * and columns as in SQLite; the transitions nodes race for are single statements or short transactions
 * (row locks, `FOR UPDATE SKIP LOCKED`, an advisory lock for admission), so they hold across processes.
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres'
  readonly pool: pg.Pool
  readonly commitLanes: number
  /** STORE_QUERY_TIMEOUT_SECONDS in ms (PgStoreOptions.queryTimeoutMs; 0: never). */
  readonly queryTimeoutMs: number
  /**
   * How long a pool connection's statement waits for a lock (its lock_timeout: connectionLockWait, below
   * queryTimeoutMs), a read's and a single write's as a transaction's; 0: never.
   */
  readonly lockWaitMs: number
  /**
   * PG_LOCK_TIMEOUT_SECONDS in ms (0: never): the lock wait of the steps that wait for other nodes and are not
   * bounded on the client side (waitingLong: a takeover, a node's mark or removal, waiting for a paused node's
   * transaction until PG_IDLE_IN_TRANSACTION_SECONDS cuts it; a migration, for another node's).
   */
  private readonly longLockWaitMs: number
  /** How long an admission's COMMIT waits for the cluster's admission lock (commitLockWait). */
  private readonly admissionLockWaitMs: number
  /** On the view inOneTransaction hands out: the transaction its calls run in. */
  private shared: SharedTransaction | undefined
  /** Whether the server's disk was last found full (its views share it). */
  private readonly full = new FullDiskMark()
  private readonly runs = new PgJsonTable<Run>('runs', columns.runs, true)
  private readonly sessions = new PgJsonTable<Session>('sessions', columns.sessions, true)
  private readonly turns = new PgJsonTable<Turn>('turns', columns.turns)
  private readonly approvals = new PgJsonTable<Approval>('approvals', columns.approvals)
  private readonly webhooks = new PgJsonTable<WebhookDelivery>('webhook_outbox', columns.webhook_outbox)

  private constructor(
    readonly url: string,
    {
      poolSize = defaultPoolSize,
      timeouts = defaultPgTimeouts,
      commitLanes,
      queryTimeoutMs = defaultQueryTimeoutMs,
    }: PgStoreOptions,
  ) {
    this.commitLanes = commitLanes ?? defaultCommitLanes(poolSize)
    this.queryTimeoutMs = queryTimeoutMs
    this.lockWaitMs = connectionLockWait(queryTimeoutMs, timeouts.lockMs)
    this.longLockWaitMs = timeouts.lockMs
    this.admissionLockWaitMs = commitLockWait(queryTimeoutMs, timeouts.lockMs)
    checkPool(poolSize, this.commitLanes)
    // a wait for a free connection fails only when none was handed back answered for as long (answering-pool.ts)
    this.pool = new AnsweringPool({
      connectionString: url,
      max: poolSize,
      // a new connection a hung server never answers, or a wait for a free one while none is answered, fails after
      // this (0: never): before nothing of a write was sent, so it is held and tried again as a refused connection
      // is (isOutageBeforeWrite)
      connectionTimeoutMillis: queryTimeoutMs,
      // Sent with each connection's startup (0: not sent, the server's own default holds).
      idle_in_transaction_session_timeout: timeouts.idleInTransactionMs,
      // below STORE_QUERY_TIMEOUT_SECONDS: a lock held elsewhere (an operator's LOCK TABLE, another client's open
      // transaction) ends a read's or a write's wait with the server's own 55P03 (503 store_busy), not taken for a
      // hung server (cut by the client-side bound: 503 store_unavailable, the connection destroyed)
      lock_timeout: this.lockWaitMs,
      statement_timeout: timeouts.statementMs,
    })
    // An idle client losing its connection must not crash the process; the pool replaces it.
    this.pool.on('error', () => {})
  }

  /** Connects and applies any migration not yet applied. */
  static async open(url: string, options: PgStoreOptions = {}): Promise<PostgresStore> {
    const store = new PostgresStore(url, options)
    try {
      await store.migrate()
    } catch (err) {
      await store.pool.end()
      throw err
    }
    return store
  }

  private async migrate(): Promise<void> {
    // a migration's statement may take long on a big table (an index built): not cut by STORE_QUERY_TIMEOUT_SECONDS
    await this.transaction(async (db) => {
      await db.query('SELECT pg_advisory_xact_lock($1)', [migrationLock])
      await db.query('CREATE TABLE IF NOT EXISTS agw_schema_version (version INTEGER NOT NULL)')
      const row = (await db.query('SELECT version FROM agw_schema_version')).rows[0] as
        | { version: number }
        | undefined
      if (!row) await db.query('INSERT INTO agw_schema_version (version) VALUES (0)')
      for (let v = row?.version ?? 0; v < migrations.length; v++) {
        await db.query(migrations[v]!)
        await db.query('UPDATE agw_schema_version SET version = $1', [v + 1])
      }
    }, false)
  }

  /**
   * Where a query goes: the transaction of an inOneTransaction view, or any pool connection (`pooled`: a single
   * statement's refusal for a full disk marks it, as a transaction's does).
   */
  private get db(): Queryable {
    return this.shared?.open ? this.shared.db : this.pooled
  }

  /**
   * Where a read goes: the transaction of an inOneTransaction view (part of its write), or the pool bounded by
   * STORE_QUERY_TIMEOUT_SECONDS (`bounded`).
   */
  private get reader(): Queryable {
    return this.shared?.open ? this.shared.db : this.bounded
  }

  /**
   * The pool's reads outside a transaction, each bounded by STORE_QUERY_TIMEOUT_SECONDS: its connection (a new one,
   * or a wait for a free one while the server answers none of the others), then its statement: a server that hangs
   * (SIGSTOP, frozen, partitioned) fails it with StoreNoAnswer, a
   * request answers 503 store_unavailable (before, it got no answer until the server woke). Its connection is
   * destroyed, not handed out again with the query pending (the pool ends a connection released with an error, and
   * the driver destroys the socket of one with a query pending). A read changes nothing: failing it is safe.
   */
  private readonly bounded: Queryable = {
    query: (async (text: string, values?: unknown[]) => {
      const ms = this.queryTimeoutMs
      if (ms <= 0) return this.pooled.query(text, values)
      // bounded by the pool's connectionTimeoutMillis (the same ms): a new connection, a wait for a free one while
      // the server answers none of the others (answering-pool.ts)
      const client = await this.pool.connect().catch((err: unknown) => {
        this.unavailable(err)
        throw err
      })
      // the statement's own bound from here: a wait for a free connection the server answered others during was
      // this node's queue, not the server's silence (before: a read that waited its whole bound in the queue was
      // sent with none left, and failed as if the server hung)
      const deadline = Date.now() + ms
      // the server's FATAL (a shutdown) can come in the same read as the answer, after the query ended and before
      // the release: heard here, as pg-pool's own query() does, or it is an uncaught 'error'
      client.on('error', ignoreLost)
      let failed: unknown
      try {
        const result = await client
          .query(timed({ text, values }, Math.max(1, deadline - Date.now())))
          .catch((err: unknown) => {
            throw noAnswer(err, 'a read', ms)
          })
        this.answered()
        return result
      } catch (err) {
        failed = err
        this.full.refused(err)
        this.unavailable(err)
        // a lock held elsewhere past the connection's lock_timeout (below `ms`): the server answers, 503 store_busy
        markIfStoreBusy(err)
        throw err
      } finally {
        client.removeListener('error', ignoreLost)
        client.release(failed as Error | undefined)
      }
    }) as Queryable['query'],
  }

  /**
   * The pool's single statements (a run's, a turn's or an approval's insert, a webhook delivery, a node's row):
   * one the server refuses for a full disk (53100) marks it full, as a refused transaction does (before, only
   * those did: /health said healthy while these were refused).
   */
  private readonly pooled: Queryable = {
    query: ((...args: Parameters<pg.Pool['query']>) =>
      (this.pool.query as (...a: unknown[]) => Promise<pg.QueryResult>)(...args).then(
        (result) => {
          this.answered()
          return result
        },
        (err: unknown) => {
          this.full.refused(err)
          this.unavailable(err)
          // a single statement's lock wait ended by the connection's lock_timeout (below STORE_QUERY_TIMEOUT_SECONDS)
          markIfStoreBusy(err)
          throw err
        },
      )) as Queryable['query'],
  }

  /**
   * Whether a query or a connection last failed for the server being unavailable (pgUnavailable), and whom to tell
   * once one is answered again (onSpaceBack's listeners: the ends refused meanwhile are tried again at once, not
   * after the rest of their wait, up to 10 s). Shared with the store's views (inOneTransaction).
   */
  private readonly reach = { lost: false, back: new Set<() => void>() }

  /**
   * The connections whose transaction's COMMIT was sent and not answered yet (shared with the store's views): a
   * stop that destroys them (PgConnections.destroyAll) cannot know whether the server applied those COMMITs.
   */
  private readonly committing = new Set<pg.PoolClient>()

  /** How many COMMITs were sent and not answered yet (a stop that destroys the connections says their outcome is unknown). */
  get commitsUnanswered(): number {
    return this.committing.size
  }

  /** Marks `err` (markIfStoreUnavailable) and, when it says the server is unavailable, the server lost. */
  private unavailable(err: unknown): void {
    markIfStoreUnavailable(err)
    if (pgUnavailable(err)) this.reach.lost = true
  }

  /** A query answered: a server that was lost is back, and onSpaceBack's listeners are told. */
  private answered(): void {
    if (!this.reach.lost) return
    this.reach.lost = false
    for (const listener of this.reach.back) listener()
  }

  /**
   * Runs `fn` in one transaction on one client (READ COMMITTED; callers lock what they change); inside an
   * inOneTransaction view, in its transaction (a failure marks it failed, whoever catches it).
   */
  private async transaction<T>(fn: (db: Queryable) => Promise<T>, bounded = true): Promise<T> {
    const shared = this.shared
    if (shared?.open) {
      try {
        return await fn(shared.db)
      } catch (err) {
        shared.failed ??= { err }
        throw err
      }
    }
    const client = await this.pool.connect().catch((err: unknown) => {
      // the server gone or not taking connections (stopped, restarting after a PANIC): a request answers 503
      this.unavailable(err)
      // nothing of the write was sent: it may be tried again (EventLog's outage grace)
      markNotStarted(err)
      throw err
    })
    // The server may end this connection between two of its queries (a node paused past
    // idle_in_transaction_session_timeout): the next query fails, and the error must not go unheard meanwhile
    client.on('error', ignoreLost)
    let failed: Error | undefined
    let db: Queryable = client
    const cut: { err?: StoreNoAnswer | StoreLockWait } = {}
    try {
      // refused at BEGIN (a pooled connection the server ended meanwhile): nothing of the write was run
      // not answered within STORE_QUERY_TIMEOUT_SECONDS (a hung server): nothing else was sent (the driver sends
      // the write's statements once BEGIN is answered), the connection is destroyed as it is released (the server
      // ends the transaction with it), so it is not started either
      const ms = this.queryTimeoutMs
      // a lock held by another client ends its wait below the client-side bound (the connection's lock_timeout),
      // with the server's own error (55P03), not taken for a hung server. What is not bounded (a migration,
      // waitingLong) waits as long as PG_LOCK_TIMEOUT_SECONDS says; set in BEGIN's round trip
      const longer = !bounded && this.longLockWaitMs !== this.lockWaitMs
      const begin = longer ? `BEGIN; SET LOCAL lock_timeout = ${this.longLockWaitMs}` : 'BEGIN'
      await client.query(timed({ text: begin }, ms)).catch((err: unknown) => {
        const failure = noAnswer(err, "a transaction's BEGIN", ms)
        markNotStarted(failure)
        throw failure
      })
      // each statement before COMMIT bounded alike (not a migration's): one not answered cuts the transaction
      db = bounded && ms > 0 ? boundedStatements(client, ms, cut, this.lockWaitMs) : client
      const result = await fn(db)
      // a statement not answered in time (caught by `fn` or not): COMMIT is never sent, the write was not stored
      if (cut.err) throw cut.err
      // COMMIT itself is not bounded: cut, the node could not know whether the server applied it (docs/OPERATIONS.md)
      // a transaction a statement failed in is rolled back by COMMIT, without an error
      this.committing.add(client)
      const committed = await client.query('COMMIT').finally(() => this.committing.delete(client))
      if (committed.command === 'ROLLBACK') throw new Error('the transaction was rolled back')
      // stored events took room: the disk may have room again (a write of no new row may fit on a full disk), but
      // only in `events` (pages of its own with room, the other tables' full): the probe says, and unmarks it
      if (grew.has(db) && this.full.fullSince !== undefined) void this.storageFull().catch(() => {})
      this.answered()
      return result
    } catch (thrown) {
      // a statement cut: that is the failure, whatever `fn` made of it (nothing of the write was stored)
      const err = cut.err ?? thrown
      failed = err as Error
      // a write refused for a full disk (53100) marks it full: /health says so until a later write takes room
      this.full.refused(err)
      this.unavailable(err)
      markIfStoreBusy(err)
      // the driver sent nothing on a connection it knows is broken (not even COMMIT): the transaction is lost with it
      if (/connection error and is not queryable/.test(failed?.message ?? '')) markNotStarted(err)
      // the admission's refusal at COMMIT (the transaction ended there, rolled back): the connection is sound
      if (refusedAtCommit(err)) failed = undefined
      // a ROLLBACK behind a query still pending (a BEGIN or a statement not answered) would wait with it: the
      // connection is destroyed instead (release), and the server rolls the transaction back with it
      else if (!(err instanceof StoreNoAnswer)) await client.query('ROLLBACK').catch(() => {})
      throw err
    } finally {
      grew.delete(db)
      client.removeListener('error', ignoreLost)
      // a connection that failed is not handed out again (it may be the one the server ended)
      client.release(failed)
    }
  }

  /**
   * A single write statement that waits for other nodes' locks as long as PG_LOCK_TIMEOUT_SECONDS says (a takeover,
   * a node's mark or removal: a paused node's transaction holds them until PG_IDLE_IN_TRANSACTION_SECONDS cuts
   * it), not the pool connections' shorter lock wait. Not bounded on the client side, as a single statement is not:
   * in a transaction of its own whose BEGIN sets its lock_timeout (one round trip more, for these rare steps).
   */
  private waitingLong(text: string, values: unknown[]): Promise<pg.QueryResult> {
    if (this.shared?.open || this.longLockWaitMs === this.lockWaitMs) return this.db.query(text, values)
    return this.transaction((db) => db.query(text, values), false)
  }

  async inOneTransaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    return this.transaction(async (db) => {
      const shared: SharedTransaction = { db, open: true, failed: undefined }
      // this store, its calls in this transaction
      const tx = Object.create(this) as PostgresStore
      tx.shared = shared
      try {
        const result = await fn(tx)
        if (shared.failed) throw shared.failed.err
        return result
      } finally {
        // a call `fn` left running (not awaited) goes to the pool from now on
        shared.open = false
      }
    })
  }

  async createRun(run: Run): Promise<void> {
    await this.runs.insert(this.db, run)
  }

  async holdRequestKey(
    tenant: string | null,
    key: string,
    hold: RequestKeyHold,
    at: string,
    keptSince: string,
  ): Promise<HeldRequestKey | undefined> {
    return this.transaction(async (db) => {
      await db.query('DELETE FROM run_keys WHERE at < $1', [keptSince])
      // a hold another request's open transaction inserted is waited for: its COMMIT or ROLLBACK decides. One
      // released between the INSERT and the SELECT (its run not admitted) is taken on the next round.
      for (;;) {
        const { rowCount } = await db.query(
          `INSERT INTO run_keys (tenant, key, run_id, digest, at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (tenant, key) DO NOTHING`,
          [tenant ?? '', key, hold.resourceId, hold.digest, at],
        )
        if (rowCount === 1) return undefined
        const { rows } = await db.query(
          'SELECT run_id AS "resourceId", digest, at FROM run_keys WHERE tenant = $1 AND key = $2',
          [tenant ?? '', key],
        )
        if (rows[0]) return rows[0] as HeldRequestKey
      }
    })
  }

  async releaseRequestKey(tenant: string | null, key: string, resourceId: string): Promise<void> {
    await this.transaction(async (db) => {
      await db.query('DELETE FROM run_keys WHERE tenant = $1 AND key = $2 AND run_id = $3', [
        tenant ?? '',
        key,
        resourceId,
      ])
    })
  }

  async retakeRequestKey(
    tenant: string | null,
    key: string,
    held: HeldRequestKey,
    at: string,
  ): Promise<boolean> {
    return this.transaction(async (db) => {
      const { rowCount } = await db.query(
        'UPDATE run_keys SET at = $1 WHERE tenant = $2 AND key = $3 AND run_id = $4 AND at = $5',
        [at, tenant ?? '', key, held.resourceId, held.at],
      )
      return rowCount === 1
    })
  }

  async admitRun(
    run: Run,
    owner: string | null,
    maxUnfinished: number,
    events: readonly EventToAppend[] = [],
  ): Promise<StoredEvent[] | false> {
    // in another transaction (an inOneTransaction view): the lock taken with the INSERT, as before (migration 9),
    // so that a refusal is an answer there, not a failed COMMIT of the caller's other writes
    const shared = this.shared?.open === true
    try {
      return await this.transaction(async (db) => {
        // the member check here; the cluster's admission lock and the count in this transaction's COMMIT
        // (migration 11): the lock is held for no round trip of this node
        const admitted = await this.runs.insertWhere(
          db,
          run,
          { node_id: owner },
          (n) =>
            shared
              ? `agw_admission_room($${n}, $${n + 1})`
              : `agw_admission_ask($${n}, $${n + 1}, $${n + 2})`,
          shared ? [maxUnfinished, owner] : [maxUnfinished, owner, this.admissionLockWaitMs],
        )
        return admitted && insertEvents(db, events)
      })
    } catch (err) {
      const code = (err as { code?: unknown }).code
      if (code === notAMember && owner !== null) throw new NotAMember(owner)
      if (code === overCapacity) return false
      throw err
    }
  }

  async claimRun(id: string, node: string): Promise<Run | undefined> {
    return this.transaction(async (db) => {
      await lockMember(db, node)
      return this.claim(db, id, node)
    })
  }

  private async claim(db: Queryable, id: string, node: string): Promise<Run | undefined> {
    const { rows } = await db.query(
      `UPDATE runs SET node_id = $2, claimed_at = $3 WHERE id = $1 AND status = 'queued' AND claimed_at IS NULL
       AND (node_id IS NULL OR node_id = $2) RETURNING ${this.runs.readColumns}`,
      [id, node, new Date().toISOString()],
    )
    return this.runs.parseRow(rows[0])
  }

  async claimNextRun(node: string): Promise<Run | undefined> {
    return this.transaction(async (db) => {
      await lockMember(db, node)
      const next = (
        await db.query(
          `SELECT id FROM runs WHERE status = 'queued' AND claimed_at IS NULL AND (node_id IS NULL OR node_id = $1)
           ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`,
          [node],
        )
      ).rows[0] as { id: string } | undefined
      return next ? this.claim(db, next.id, node) : undefined
    })
  }

  async updateRun(id: string, patch: Partial<Omit<Run, 'id'>>, owner?: string): Promise<boolean> {
    return this.transaction((db) => this.updateRunIn(db, id, patch, owner))
  }

  /** updateRun's step, in the transaction of `db`. */
  private async updateRunIn(
    db: Queryable,
    id: string,
    patch: Partial<Omit<Run, 'id'>>,
    owner: string | undefined,
  ): Promise<boolean> {
    if (owner !== undefined) {
      // the row locked until the write commits: a takeover waits for it (and then finds the run finished)
      const { rows } = await db.query<{ node_id: string | null }>(
        'SELECT node_id FROM runs WHERE id = $1 FOR UPDATE',
        [id],
      )
      if (rows[0]?.node_id !== owner) return false
    }
    return (await this.runs.update(db, id, patch)) !== undefined
  }

  async updateRunWithEvents(
    id: string,
    patch: Partial<Omit<Run, 'id'>>,
    owner: string | undefined,
    events: readonly EventToAppend[],
  ): Promise<{ updated: boolean; events: StoredEvent[] }> {
    return this.transaction(async (db) => {
      if (!(await this.updateRunIn(db, id, patch, owner))) return { updated: false, events: [] }
      return { updated: true, events: await insertEvents(db, events) }
    })
  }

  async getRun(id: string): Promise<Run | undefined> {
    return this.runs.get(this.reader, id)
  }

  async listRuns(filter: RunFilter): Promise<Run[]> {
    return this.runs.where(
      this.reader,
      { status: filter.status, agent: filter.agent, tenant: filter.tenant },
      { limit: filter.limit, before: filter.before },
    )
  }

  async takeOverRuns(lost: readonly string[], to: string): Promise<Run[]> {
    const rows = await this.takeOver('runs', this.runs.readColumns, lost, to)
    return rows.map((r) => this.runs.parseRow(r)!).sort(byId)
  }

  async takeOverRunsMissingEnd(lost: readonly string[], to: string): Promise<Run[]> {
    const rows = await this.takeOver('runs', this.runs.readColumns, lost, to, endMissingWhere)
    return rows.map((r) => this.runs.parseRow(r)!).sort(byId)
  }

  async appendRunEnd(
    runId: string,
    completed: RunCompletedEvent,
    at: string,
    fence: string,
  ): Promise<StoredEvent | undefined> {
    return this.transaction(async (db) => {
      // The run's row lock first (every append takes it), then the read, in a statement of its own: its snapshot
      // sees every end committed before the lock was granted (a join in the locking statement would read the
      // events as they were when that statement started, and miss an end committed while it waited).
      const locked = await db.query<{ last_seq: number }>(
        'SELECT last_seq FROM runs WHERE id = $1 FOR UPDATE',
        [runId],
      )
      const last = locked.rows[0]?.last_seq
      if (last !== undefined && last > 0) {
        const { rows } = await db.query<{ type: string }>(
          'SELECT type FROM events WHERE owner_id = $1 AND seq = $2',
          [runId, last],
        )
        if (rows[0]?.type === 'run.completed') return undefined
      }
      return insertEvent(db, { ownerId: runId, event: completed, at, fence })
    })
  }

  /**
   * What the `lost` nodes still hold of `table` (heldWhere, or `held`) goes to `to`, each row to one taker; the
   * rows taken.
   */
  private async takeOver(
    table: keyof typeof heldWhere,
    returning: string,
    lost: readonly string[],
    to: string,
    held: string = heldWhere[table],
  ): Promise<unknown[]> {
    if (lost.length === 0) return []
    const { rows } = await this.waitingLong(
      // a session taken over gets a new claim: what the lost node still writes for it is refused
      `UPDATE ${table} SET node_id = $1${table === 'sessions' ? ', claim = claim + 1' : ''}
       WHERE ${held} AND node_id IN (${inList(lost, 2)})
       RETURNING ${returning}`,
      [to, ...lost],
    )
    return rows
  }

  async ownerOf(id: string): Promise<string | null | undefined> {
    const table = id.startsWith('ses_') ? 'sessions' : 'runs'
    const row = (await this.reader.query(`SELECT node_id FROM ${table} WHERE id = $1`, [id])).rows[0] as
      | { node_id: string | null }
      | undefined
    return row ? row.node_id : undefined
  }

  async ownersInUse(): Promise<string[]> {
    const { rows } = await this.reader.query(ownersInUseSql)
    return (rows as { node_id: string }[]).map((r) => r.node_id).sort()
  }

  async deleteFinishedBefore(cutoff: string): Promise<number> {
    return this.transaction(async (db) => {
      await db.query(
        'DELETE FROM events WHERE owner_id IN (SELECT id FROM runs WHERE finished_at IS NOT NULL AND finished_at < $1)',
        [cutoff],
      )
      return (await db.query('DELETE FROM runs WHERE finished_at IS NOT NULL AND finished_at < $1', [cutoff]))
        .rowCount!
    })
  }

  /** Events belong to a run (`run_…`) or a session (`ses_…`); the owner's row lock orders its seqs. */
  async appendEvent(
    ownerId: string,
    event: AgentEvent,
    at: string,
    fence?: EventFence,
  ): Promise<StoredEvent> {
    return this.transaction((db) => insertEvent(db, { ownerId, event, at, fence }))
  }

  async appendEvents(batch: readonly EventToAppend[]): Promise<StoredEvent[]> {
    return this.transaction((db) => insertEvents(db, batch))
  }

  async eventsAfter(ownerId: string, afterSeq: number, limit: number): Promise<StoredEvent[]> {
    const { rows } = await this.reader.query(
      'SELECT body FROM events WHERE owner_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
      [ownerId, afterSeq, Math.min(limit, 2_147_483_647)],
    )
    return (rows as { body: string }[]).map((r) => parseJsonOnce<StoredEvent>(r.body))
  }

  async createSession(
    s: Session,
    owner: string,
    events: readonly EventToAppend[] = [],
  ): Promise<StoredEvent[]> {
    return this.transaction(async (db) => {
      await lockMember(db, owner)
      await this.sessions.insert(db, s, { node_id: owner })
      return insertEvents(db, events)
    }).catch((err: unknown) => {
      const { code, constraint } = err as { code?: unknown; constraint?: unknown }
      // unique_violation of the index on the sessions' client-chosen ids
      if (s.externalId !== undefined && code === '23505' && constraint === 'sessions_external_id')
        throw new ExternalIdTaken(s.externalId)
      throw err
    })
  }

  async claimSession(id: string, node: string): Promise<SessionClaim> {
    return this.transaction(async (db) => {
      await lockMember(db, node)
      const { rows } = await db.query<{ claim: number }>(
        'UPDATE sessions SET node_id = $2, claim = claim + 1 WHERE id = $1 RETURNING claim',
        [id, node],
      )
      return rows[0]?.claim ?? 0
    })
  }

  async takeOverSessions(lost: readonly string[], to: string): Promise<TakenSession[]> {
    const rows = await this.takeOver('sessions', `${this.sessions.readColumns}, claim`, lost, to)
    return (rows as { claim: number }[])
      .map((r) => ({ ...this.sessions.parseRow(r)!, claim: r.claim }))
      .sort(byId)
  }

  async updateSession(
    id: string,
    patch: Partial<Omit<Session, 'id'>>,
    claim?: SessionClaim,
  ): Promise<Session | undefined> {
    return this.transaction(async (db) => {
      if (claim !== undefined) await holdClaim(db, id, claim)
      return this.sessions.update(db, id, patch)
    })
  }

  async setSessionStateWithEvents(
    id: string,
    change: SessionStateSet,
    claim: SessionClaim | undefined,
    eventsOf: (stored: boolean) => readonly EventToAppend[],
  ): Promise<{ stored: boolean; events: StoredEvent[] }> {
    return this.transaction(async (db) => {
      if (claim !== undefined) await holdClaim(db, id, claim)
      const stored = await this.storeState(db, id, change)
      return { stored, events: await insertEvents(db, eventsOf(stored)) }
    })
  }

  /**
   * Under the session's row lock: its new state with the fields to store with it (one UPDATE), unless it is
   * archived; whether it was stored.
   */
  private async storeState(db: Queryable, id: string, change: SessionStateSet): Promise<boolean> {
    let stored = false
    await this.sessions.update(db, id, (current) => {
      if (current.status === 'archived') return null
      stored = true
      return { ...change.fields, status: change.status, updatedAt: change.at }
    })
    return stored
  }

  async sessionState(id: string): Promise<SessionStateRead | undefined> {
    return this.readSessionState(this.reader, id)
  }

  /** The state change asked for, or computed from the session's state read in `db`'s transaction. */
  private async changeOf(
    db: Queryable,
    sessionId: string,
    change: SessionStateChange | StateChangeFromRead | undefined,
  ): Promise<SessionStateChange | undefined> {
    return typeof change === 'function' ? this.fromStateRead(db, sessionId, change) : change
  }

  /**
   * What `from` computes from the session's state read in `db`'s transaction (a turn step's state:
   * StatusFromRead, StateChangeFromRead); the step's write follows, under the session's row lock.
   * session-archive-race.test.ts lands another node's archive right after this read, before that write.
   */
  private async fromStateRead<T>(
    db: Queryable,
    sessionId: string,
    from: (read: SessionStateRead) => T | undefined,
  ): Promise<T | undefined> {
    const read = await this.readSessionState(db, sessionId)
    return read && from(read)
  }

  private async readSessionState(db: Queryable, id: string): Promise<SessionStateRead | undefined> {
    const { rows } = await db.query(
      `SELECT status, EXISTS (SELECT 1 FROM approvals WHERE session_id = sessions.id AND state = 'pending')
       AS pending, node_id FROM sessions WHERE id = $1`,
      [id],
    )
    const row = rows[0] as { status: Session['status']; pending: boolean; node_id: string | null } | undefined
    return row && { status: row.status, pendingApproval: row.pending, owner: row.node_id }
  }

  async getSession(id: string): Promise<Session | undefined> {
    return this.sessions.get(this.reader, id)
  }

  async findSessionByAgentId(agentSessionId: string): Promise<Session | undefined> {
    return (await this.sessions.where(this.reader, { agent_session_id: agentSessionId }, { limit: 1 }))[0]
  }

  async findSessionByExternalId(externalId: string): Promise<Session | undefined> {
    return (await this.sessions.where(this.reader, { external_id: externalId }, { limit: 1 }))[0]
  }

  async listSessions(filter: SessionFilter): Promise<Session[]> {
    return this.sessions.where(
      this.reader,
      { status: filter.status, agent: filter.agent, tenant: filter.tenant },
      { limit: filter.limit, before: filter.before },
    )
  }

  async countSessions(tenant?: string | null): Promise<SessionCounts> {
    const { where, params } = whereClauses({ tenant }, undefined, (n) => `$${n}`)
    const { rows } = await this.reader.query<{ status: Session['status']; n: string }>(
      `SELECT status, count(*) AS n FROM sessions ${where} GROUP BY status`,
      params,
    )
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]))
  }

  async createTurn(
    t: Turn,
    claim?: SessionClaim,
    session?: SessionStateChange,
  ): Promise<TurnStep | undefined> {
    if (claim === undefined && !session) return void (await this.turns.insert(this.db, t))
    return this.transaction(async (db) => {
      if (claim !== undefined) await holdClaim(db, t.sessionId, claim)
      await this.turns.insert(db, t)
      if (!session) return undefined
      const stored = await this.storeState(db, t.sessionId, session)
      return { turn: t, status: stored ? session.status : undefined }
    })
  }

  async updateTurn(
    id: string,
    patch: Partial<Omit<Turn, 'id'>>,
    session?: SessionStateChange,
    claim?: SessionClaim,
  ): Promise<TurnStep | undefined> {
    return this.transaction(async (db) => {
      if (claim !== undefined) await holdTurnClaim(db, id, claim)
      const turn = await this.turns.update(db, id, patch)
      if (!turn) return undefined
      const stored = session && (await this.storeState(db, turn.sessionId, session))
      return { turn, status: stored ? session.status : undefined }
    })
  }

  async createTurnWithEvents(
    t: Turn,
    claim: SessionClaim | undefined,
    sessionOrFromRead: SessionStateChange | StateChangeFromRead | undefined,
    eventsOf: (step: TurnStep | undefined) => readonly EventToAppend[],
  ): Promise<{ step: TurnStep | undefined; events: StoredEvent[] }> {
    return this.transaction(async (db) => {
      if (claim !== undefined) await holdClaim(db, t.sessionId, claim)
      await this.turns.insert(db, t)
      const session = await this.changeOf(db, t.sessionId, sessionOrFromRead)
      const stored = session && (await this.storeState(db, t.sessionId, session))
      const step = session ? { turn: t, status: stored ? session.status : undefined } : undefined
      return { step, events: await insertEvents(db, eventsOf(step)) }
    })
  }

  async updateTurnWithEvents(
    id: string,
    patch: Partial<Omit<Turn, 'id'>>,
    sessionOrFromRead: SessionStateChange | StateChangeFromRead | undefined,
    claim: SessionClaim | undefined,
    eventsOf: (step: TurnStep) => readonly EventToAppend[],
  ): Promise<{ step: TurnStep | undefined; events: StoredEvent[] }> {
    return this.transaction(async (db) => {
      if (claim !== undefined) await holdTurnClaim(db, id, claim)
      const turn = await this.turns.update(db, id, patch)
      if (!turn) return { step: undefined, events: [] }
      const session = await this.changeOf(db, turn.sessionId, sessionOrFromRead)
      const stored = session && (await this.storeState(db, turn.sessionId, session))
      const step = { turn, status: stored ? session.status : undefined }
      return { step, events: await insertEvents(db, eventsOf(step)) }
    })
  }

  async getTurn(id: string): Promise<Turn | undefined> {
    return this.turns.get(this.reader, id)
  }

  async completeTurn(
    id: string,
    patch: Partial<Omit<Turn, 'id' | 'sessionId'>>,
    at: string,
    status?: Session['status'],
    claim?: SessionClaim,
  ): Promise<TurnStep | undefined> {
    return this.transaction((db) => this.completeTurnIn(db, id, patch, at, status, claim))
  }

  async completeTurnWithEvents(
    id: string,
    patch: Partial<Omit<Turn, 'id' | 'sessionId'>>,
    at: string,
    status: Session['status'] | StatusFromRead | undefined,
    claim: SessionClaim | undefined,
    eventsOf: (step: TurnStep | undefined) => readonly EventToAppend[],
  ): Promise<{ step: TurnStep | undefined; events: StoredEvent[] }> {
    return this.transaction(async (db) => {
      const step = await this.completeTurnIn(db, id, patch, at, status, claim)
      return { step, events: await insertEvents(db, eventsOf(step)) }
    })
  }

  /** completeTurn's step, inside the caller's transaction. */
  private async completeTurnIn(
    db: Queryable,
    id: string,
    patch: Partial<Omit<Turn, 'id' | 'sessionId'>>,
    at: string,
    statusOrFromRead: Session['status'] | StatusFromRead | undefined,
    claim: SessionClaim | undefined,
  ): Promise<TurnStep | undefined> {
    if (claim !== undefined) await holdTurnClaim(db, id, claim)
    const turn = await this.turns.update(db, id, patch)
    if (!turn) return undefined
    const status =
      typeof statusOrFromRead === 'function'
        ? await this.fromStateRead(db, turn.sessionId, statusOrFromRead)
        : statusOrFromRead
    // Read under the session's row lock: concurrent completions each add one, and an archive stays.
    let stored: Session['status'] | undefined
    await this.sessions.update(db, turn.sessionId, (session) => {
      if (status && session.status !== 'archived') stored = status
      return { turnCount: session.turnCount + 1, updatedAt: at, ...(stored ? { status: stored } : {}) }
    })
    return { turn, status: stored }
  }

  async listTurns(sessionId: string, status?: Turn['status']): Promise<Turn[]> {
    return this.turns.where(this.reader, { session_id: sessionId, status }, { ascending: true })
  }

  async createApproval(a: Approval): Promise<void> {
    await this.approvals.insert(this.db, a)
  }

  async updateApproval(id: string, patch: Partial<Omit<Approval, 'id'>>): Promise<Approval | undefined> {
    return this.transaction((db) => this.approvals.update(db, id, patch))
  }

  async getApproval(id: string): Promise<Approval | undefined> {
    return this.approvals.get(this.reader, id)
  }

  async resolveApproval(
    id: string,
    answer: ApprovalAnswer,
    claim?: SessionClaim,
  ): Promise<Approval | undefined> {
    return this.transaction(async (db) => {
      const current = await this.approvals.select(
        db,
        `${this.approvals.selectSql} WHERE id = $1 FOR UPDATE`,
        [id],
      )
      if (current[0]?.state !== 'pending') return undefined
      if (claim !== undefined) await holdClaim(db, current[0].sessionId, claim)
      return this.approvals.update(db, id, { state: 'resolved', ...answer })
    })
  }

  async listApprovals(filter: ApprovalFilter): Promise<Approval[]> {
    if (filter.tenant !== undefined) return this.approvalsOfTenant(filter, filter.tenant)
    return this.approvals.where(
      this.reader,
      { state: filter.state, session_id: filter.sessionId },
      filter.limit !== undefined ? { limit: filter.limit } : {},
    )
  }
  /** Approvals belong to a tenant through their session. */
  private approvalsOfTenant(filter: ApprovalFilter, tenant: string | null): Promise<Approval[]> {
    const params: unknown[] = []
    const clauses: string[] = []
    if (tenant === null) clauses.push('session_id IN (SELECT id FROM sessions WHERE tenant IS NULL)')
    else {
      params.push(tenant)
      clauses.push(`session_id IN (SELECT id FROM sessions WHERE tenant = $${params.length})`)
    }
    if (filter.state) {
      params.push(filter.state)
      clauses.push(`state = $${params.length}`)
    }
    if (filter.sessionId) {
      params.push(filter.sessionId)
      clauses.push(`session_id = $${params.length}`)
    }
    let sql = `${this.approvals.selectSql} WHERE ${clauses.join(' AND ')} ORDER BY id DESC`
    if (filter.limit !== undefined) {
      params.push(filter.limit)
      sql += ` LIMIT $${params.length}`
    }
    return this.approvals.select(this.reader, sql, params)
  }

  async registerNode(node: NodeRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO nodes (id, role, host, pid, started_at, heartbeat_at, lock_key) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (id) DO UPDATE SET role = $2, host = $3, pid = $4, heartbeat_at = $6, lost_at = NULL, lock_key = $7`,
      [node.id, node.role, node.host, node.pid, node.startedAt, node.heartbeatAt, node.lockKey ?? null],
    )
  }

  /**
   * Records the liveness lock key node `id` holds (pg-liveness-lock.ts), or clears it (null) while its lock
   * connection is down: only if the row still names `held`, so a clear never undoes a later record.
   */
  async setNodeLockKey(id: string, key: number | null, held?: number): Promise<void> {
    await this.db.query(
      key === null
        ? 'UPDATE nodes SET lock_key = NULL WHERE id = $1 AND lock_key = $2'
        : 'UPDATE nodes SET lock_key = $2 WHERE id = $1',
      [id, key ?? held ?? null],
    )
  }

  async heartbeat(id: string, at: string): Promise<boolean> {
    // A node marked lost stays registered, its heartbeat no longer recorded (Store.heartbeat).
    const { rowCount } = await this.db.query(
      'UPDATE nodes SET heartbeat_at = CASE WHEN lost_at IS NULL THEN $2 ELSE heartbeat_at END WHERE id = $1',
      [id, at],
    )
    return rowCount === 1
  }

  async markNodesLost(ids: readonly string[], at: string): Promise<string[]> {
    // Waits for the claims in progress of these nodes (they share-lock the row: lockMember); later ones see the mark.
    // Two nodes marking at once: the second waits for the first's row lock, then finds the mark (READ COMMITTED).
    const { rows } = await this.waitingLong(
      'UPDATE nodes SET lost_at = $1 WHERE id = ANY($2) AND lost_at IS NULL RETURNING id',
      [at, ids],
    )
    return (rows as { id: string }[]).map((r) => r.id).sort()
  }

  async listNodes(): Promise<NodeRecord[]> {
    // With each node's liveness lock as the server sees it now: held, or free (its process is gone). One read of
    // pg_locks for all nodes (readable by any role).
    const { rows } = await this.reader.query<
      NodeRecord & { lockKey: number | null; lock: 'held' | 'free' | null }
    >(
      `WITH held AS (
         SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::oid AND objsubid = 2 AND granted
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))
       SELECT id, role, host, pid, started_at AS "startedAt", heartbeat_at AS "heartbeatAt", lock_key AS "lockKey",
         CASE WHEN lock_key IS NULL THEN NULL WHEN lock_key::oid IN (SELECT objid FROM held) THEN 'held' ELSE 'free' END
         AS lock
       FROM nodes ORDER BY id`,
      [livenessLockSpace],
    )
    return rows.map(({ lockKey, lock, ...n }) =>
      lockKey === null || lock === null ? n : { ...n, lockKey, lock },
    )
  }

  async enqueueWebhook(delivery: WebhookDelivery): Promise<void> {
    await this.webhooks.insert(this.db, delivery)
  }

  async updateWebhook(
    id: string,
    patch: Partial<Omit<WebhookDelivery, 'id'>>,
  ): Promise<WebhookDelivery | undefined> {
    return this.transaction((db) => this.webhooks.update(db, id, patch))
  }

  async getWebhook(id: string): Promise<WebhookDelivery | undefined> {
    return this.webhooks.get(this.reader, id)
  }

  /** Claims due deliveries for this node (their next attempt moves out by a lease), so nodes do not race. */
  async dueWebhooks(now: string, limit: number): Promise<WebhookDelivery[]> {
    const lease = new Date(Date.parse(now) + webhookLeaseMs).toISOString()
    const { rows } = await this.db.query(
      `UPDATE webhook_outbox SET next_attempt_at = $1 WHERE id IN (
         SELECT id FROM webhook_outbox WHERE state = 'pending' AND next_attempt_at <= $2
         ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING body`,
      [lease, now, limit],
    )
    return (rows as { body: string }[]).map((r) => JSON.parse(r.body) as WebhookDelivery)
  }

  async nextWebhookAt(): Promise<string | null> {
    const { rows } = await this.reader.query(
      "SELECT MIN(next_attempt_at) AS at FROM webhook_outbox WHERE state = 'pending'",
    )
    return (rows[0] as { at: string | null } | undefined)?.at ?? null
  }

  async removeNode(id: string): Promise<void> {
    await this.waitingLong('DELETE FROM nodes WHERE id = $1', [id])
  }

  async ping(): Promise<boolean> {
    return (await this.reader.query('SELECT 1 AS ok')).rows[0]?.ok === 1
  }

  /**
   * While a write was refused for a full disk since the disk was last found to have room: a probe, an event row
   * of about an event's size (not TOASTed) inserted into `events` and a row of about that size into `sessions`,
   * rolled back, which the server refuses with 53100 while either table has no room left (its disk full: `events`
   * may have room in its pages, freed or never filled, while a new session's row needs a page of the disk). Else
   * false, without a query.
   */
  async storageFull(_probed?: WriteProbe): Promise<boolean> {
    return this.full.check(async () => {
      const client = await this.pool.connect()
      client.on('error', ignoreLost)
      let failed: Error | undefined
      try {
        await client.query('BEGIN')
        const id = `probe_${randomBytes(8).toString('hex')}`
        const body = randomBytes(probeBytes / 2).toString('hex')
        await client.query('INSERT INTO events (owner_id, seq, type, at, body) VALUES ($1, 0, $2, $3, $4)', [
          id,
          'storage.probe',
          new Date().toISOString(),
          body,
        ])
        await client.query(
          "INSERT INTO sessions (id, agent, agent_session_id, status, body) VALUES ($1, 'probe', $1, 'probe', $2)",
          [id, body],
        )
      } catch (err) {
        failed = err as Error
        throw err
      } finally {
        await client.query('ROLLBACK').catch(() => {})
        client.removeListener('error', ignoreLost)
        client.release(failed)
      }
    })
  }

  /** Also once the server answers again after it was unavailable: an end refused then is tried again at once. */
  onSpaceBack(listener: () => void): void {
    this.full.onCleared(listener)
    this.reach.back.add(listener)
  }

  async close(): Promise<void> {
    // a stop past its store bound may have ended the pool already (PgConnections.destroyAll): wait for that end
    if (this.pool.ended) return
    await endPool(this.pool)
  }
}

/** `query` with the driver's query_timeout (`ms`; 0: none), which its types leave out of QueryConfig. */
function timed(query: pg.QueryConfig, ms: number): pg.QueryConfig {
  return ms > 0 ? Object.assign(query, { query_timeout: ms }) : query
}

/**
 * The statements of a transaction on `client` before its COMMIT, each bounded by `ms` (STORE_QUERY_TIMEOUT_SECONDS):
 * one the server does not answer in time (it hangs: SIGSTOP, frozen, partitioned) fails with StoreNoAnswer, marked
 * not started (isOutageBeforeWrite), and recorded in `cut`; every later statement fails with it at once, and the
 * transaction never sends COMMIT but destroys the connection (release with the error), so the server can only roll
 * it back: the write is held and tried again within STORE_OUTAGE_GRACE_SECONDS, as a BEGIN not answered is. (Left
 * to the driver alone, a statement sent after a timed-out one waits behind it on the connection, and a COMMIT sent
 * then would commit it once the server wakes.) One whose lock wait (`lockMs`: the connection's lock_timeout)
 * PostgreSQL ended (55P03: a lock another client holds) fails with StoreLockWait, marked and recorded alike.
 */
function boundedStatements(
  client: pg.PoolClient,
  ms: number,
  cut: { err?: StoreNoAnswer | StoreLockWait },
  lockMs: number,
): Queryable {
  return {
    query: (async (textOrConfig: string | pg.QueryConfig, values?: unknown[]) => {
      if (cut.err) throw cut.err
      const config = typeof textOrConfig === 'string' ? { text: textOrConfig, values } : { ...textOrConfig }
      return client.query(timed(config, ms)).catch((err: unknown) => {
        // a lock another client holds past the connection's lock wait (below `ms`): the server answered, and
        // rolls the transaction back; nothing of it is stored, so it is held and tried again as a cut one is
        const failure = pgLockNotAvailable(err)
          ? new StoreLockWait(lockMs, { cause: err })
          : noAnswer(err, 'a statement of a transaction (before its COMMIT)', ms)
        if (failure instanceof StoreNoAnswer || failure instanceof StoreLockWait) {
          markNotStarted(failure)
          cut.err ??= failure
        }
        throw failure
      })
    }) as Queryable['query'],
  }
}

/** Whether `err` is agw_admission_check's refusal (AGW02), which the server answers as it ends the transaction. */
function refusedAtCommit(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === overCapacity
}

/**
 * `err` as StoreNoAnswer when it is the driver's query_timeout (the query's answer not read in time), else itself.
 */
function noAnswer(err: unknown, what: string, ms: number): unknown {
  return err instanceof Error && err.message === 'Query read timeout'
    ? new StoreNoAnswer(what, ms, { cause: err })
    : err
}

/**
 * Inside a transaction: throws NotAMember unless `node` is registered and not marked lost, and holds a share lock
 * on its row until the transaction ends. markNodesLost and removeNode then wait for what this transaction claims
 * (and the takeover that follows them sees it); a claim that comes after them re-reads the row (READ COMMITTED
 * rechecks a locked row's condition on its newest version) and finds the mark or no row.
 */
async function lockMember(db: Queryable, node: string): Promise<void> {
  const { rowCount } = await db.query('SELECT 1 FROM nodes WHERE id = $1 AND lost_at IS NULL FOR SHARE', [
    node,
  ])
  if (!rowCount) throw new NotAMember(node)
}

/**
 * Inside a transaction: throws SessionTakenOver when the session's claim is no longer `claim`, and holds its row
 * lock until the transaction ends, so a claim or takeover waits for this write (and bumps the claim after it).
 * An unknown session passes (the write finds nothing).
 */
async function holdClaim(db: Queryable, sessionId: string, claim: SessionClaim): Promise<void> {
  const { rows } = await db.query<{ claim: number; node_id: string | null }>(
    'SELECT claim, node_id FROM sessions WHERE id = $1 FOR UPDATE',
    [sessionId],
  )
  const row = rows[0]
  if (row && row.claim !== claim) throw new SessionTakenOver(sessionId, row.node_id)
}

/** holdClaim for the session of turn `turnId`. */
async function holdTurnClaim(db: Queryable, turnId: string, claim: SessionClaim): Promise<void> {
  // one round trip: the turn's session row, locked as holdClaim locks it
  const { rows } = await db.query<{ id: string; claim: number; node_id: string | null }>(
    `SELECT s.id, s.claim, s.node_id FROM turns t JOIN sessions s ON s.id = t.session_id
     WHERE t.id = $1 FOR UPDATE OF s`,
    [turnId],
  )
  const row = rows[0]
  if (row && row.claim !== claim) throw new SessionTakenOver(row.id, row.node_id)
}

/**
 * The events, in order, in the caller's transaction: one seq bump per owner (by its count of events, under its row
 * lock, owners in the order they first appear) and one INSERT for all, where one event at a time took two statements
 * each (round trips inside the EventLog's serial flush). Fences are checked as insertEvent checks them.
 */
async function insertEvents(db: Queryable, batch: readonly EventToAppend[]): Promise<StoredEvent[]> {
  if (batch.length <= 1) return batch.length === 1 ? [await insertEvent(db, batch[0]!)] : []
  const stored = await insertMany(db, batch)
  grew.add(db)
  return stored
}

/**
 * The connections whose transaction stored events (rows that took room): its commit has a disk marked full
 * probed (storageFull: unmarked once the probe fits); forgotten when the transaction ends.
 */
const grew = new WeakSet<Queryable>()

/** The size of /health's probe row (Store.storageFull) in bytes: an event's, below PostgreSQL's TOAST threshold. */
const probeBytes = 1500

/** insertEvents for a batch of more than one. */
async function insertMany(db: Queryable, batch: readonly EventToAppend[]): Promise<StoredEvent[]> {
  const counts = new Map<string, number>()
  for (const b of batch) counts.set(b.ownerId, (counts.get(b.ownerId) ?? 0) + 1)
  const owners = new Map<string, BumpedOwner & { next: number }>()
  for (const [ownerId, n] of counts) {
    const bumped = await bumpSeq(db, ownerId, n)
    owners.set(ownerId, { ...bumped, next: bumped.last_seq - n + 1 })
  }
  const stored = batch.map(({ ownerId, event, at, fence }) => {
    const owner = owners.get(ownerId)!
    checkFence(ownerId, fence, owner)
    const isSession = ownerId.startsWith('ses_')
    return {
      ...event,
      seq: owner.next++,
      at,
      ...(isSession ? { sessionId: ownerId } : { runId: ownerId }),
    } as StoredEvent
  })
  const values = batch.map(
    (_, i) => `($${i * 5 + 1}, $${i * 5 + 2}, $${i * 5 + 3}, $${i * 5 + 4}, $${i * 5 + 5})`,
  )
  await db.query(
    `INSERT INTO events (owner_id, seq, type, at, body) VALUES ${values.join(', ')}`,
    batch.flatMap((b, i) => [b.ownerId, stored[i]!.seq, b.event.type, b.at, jsonOnce(stored[i]!)]),
  )
  return stored
}

/** An owner's row as its seq bump returns it. */
interface BumpedOwner {
  last_seq: number
  claim?: number
  node_id: string | null
}

/** Adds `n` to the owner's last seq under its row lock; its row after (Error for an unknown owner). */
async function bumpSeq(db: Queryable, ownerId: string, n: number): Promise<BumpedOwner> {
  const isSession = ownerId.startsWith('ses_')
  const bumped = (
    await db.query(
      isSession
        ? 'UPDATE sessions SET last_seq = last_seq + $2 WHERE id = $1 RETURNING last_seq, claim, node_id'
        : 'UPDATE runs SET last_seq = last_seq + $2 WHERE id = $1 RETURNING last_seq, node_id',
      [ownerId, n],
    )
  ).rows[0] as BumpedOwner | undefined
  if (!bumped) throw new Error(`appendEvent: unknown ${isSession ? 'session' : 'run'} ${ownerId}`)
  return bumped
}

/** Throws SessionTakenOver or RunTakenOver when `fence` no longer holds on the owner's row. */
function checkFence(ownerId: string, fence: EventFence | undefined, bumped: BumpedOwner): void {
  if (fence === undefined) return
  if (ownerId.startsWith('ses_')) {
    if (bumped.claim !== sessionFence(ownerId, fence)) throw new SessionTakenOver(ownerId, bumped.node_id)
  } else if (bumped.node_id !== runFence(ownerId, fence))
    throw new RunTakenOver(ownerId, runFence(ownerId, fence), bumped.node_id)
}

/**
 * Inside a transaction: the owner's next seq (its row lock orders concurrent appends), then the event row. An
 * event with a fence is refused when it is stale: a session's claim, or a run's owner, read from the row the seq
 * bump locks and returns anyway, so fencing costs no query of its own (a takeover waits for the lock, then moves
 * the owner).
 */
async function insertEvent(
  db: Queryable,
  { ownerId, event, at, fence }: EventToAppend,
): Promise<StoredEvent> {
  const bumped = await bumpSeq(db, ownerId, 1)
  checkFence(ownerId, fence, bumped)
  const owner = ownerId.startsWith('ses_') ? { sessionId: ownerId } : { runId: ownerId }
  const stored = { ...event, seq: bumped.last_seq, at, ...owner } as StoredEvent
  await db.query('INSERT INTO events (owner_id, seq, type, at, body) VALUES ($1, $2, $3, $4, $5)', [
    ownerId,
    stored.seq,
    event.type,
    at,
    jsonOnce(stored),
  ])
  grew.add(db)
  return stored
}
