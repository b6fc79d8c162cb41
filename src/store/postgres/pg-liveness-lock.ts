import { randomInt } from 'node:crypto'
import pg from 'pg'
import type { NodeLock } from '../node-lock.js'
import type { PgConnections } from './pg-connections.js'

/** The first half of every liveness lock's key (pg_locks.classid): any constant, unique to this project. */
export const livenessLockSpace = 72_653_103

const retryMs = 250

/** Records the key a node holds in its row (null: none); `held` is the key the row must still have to clear it. */
export type RecordLockKey = (key: number | null, held?: number) => Promise<void>

/**
 * The node's liveness lock: a session advisory lock (`livenessLockSpace`, key) on a connection of its own, not a
 * pooled one, held for the node's whole life. When the process dies the OS closes its socket and PostgreSQL frees
 * the lock at once, so other nodes see it free at their next check (`PostgresStore.listNodes`). When the
 * connection drops while the process lives (the server restarted, the connection was terminated), the key is
 * cleared from the node's row (the node is then judged by its heartbeat alone) and the lock taken again, every
 * 250 ms until it works, then recorded again. The connection is named `agw-liveness <node>` (pg_stat_activity).
 */
export class PgLivenessLock implements NodeLock {
  private client: pg.Client | undefined
  private held: number | undefined
  /** The key to take (again): the one held before, so a row that still names it stays true. */
  private wanted: number | undefined
  private closed = false
  private retry: NodeJS.Timeout | undefined
  private clearing: Promise<void> = Promise.resolve()

  private constructor(
    private readonly url: string,
    private readonly node: string,
    private readonly record: RecordLockKey,
    private readonly connections: PgConnections | undefined,
  ) {}

  /**
   * Takes the lock before the node registers (its record then names the key). A node that cannot take it joins
   * without it (judged by its heartbeat) and keeps trying.
   */
  static async start(
    url: string,
    node: string,
    record: RecordLockKey,
    connections?: PgConnections,
  ): Promise<PgLivenessLock> {
    const lock = new PgLivenessLock(url, node, record, connections)
    await lock.take().catch(() => lock.scheduleRetry())
    return lock
  }

  get key(): number | undefined {
    return this.held
  }

  /** The server process that holds the lock (to terminate it in tests). */
  get backendPid(): number | undefined {
    return (this.client as unknown as { processID?: number } | undefined)?.processID
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.retry)
    this.held = undefined
    await this.client?.end().catch(() => {})
  }

  private async take(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.url,
      application_name: `agw-liveness ${this.node}`,
      // an idle connection whose server vanished (a failover, a dead host) is noticed in ~10 s, not TCP's hours
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    })
    client.on('error', () => this.lost(client))
    client.on('end', () => this.lost(client))
    this.connections?.addClient(client)
    let key = this.wanted ?? newKey()
    try {
      await client.connect()
      // another node holds this key (a random clash, or the key of a node whose row was removed): another one
      while (!(await tryLock(client, key))) key = newKey()
    } catch (err) {
      await client.end().catch(() => {})
      throw err
    }
    if (this.closed) {
      await client.end().catch(() => {})
      return
    }
    this.client = client
    this.held = key
    this.wanted = key
  }

  private lost(client: pg.Client): void {
    if (this.closed || this.client !== client) return
    this.client = undefined
    const key = this.held
    this.held = undefined
    // Cleared at once: a node that sees the lock free meanwhile finds no key at its confirming look.
    this.clearing = this.record(null, key).catch(() => {})
    this.scheduleRetry()
  }

  private scheduleRetry(): void {
    if (this.closed) return
    this.retry = setTimeout(() => {
      void (async () => {
        await this.clearing
        await this.take()
        if (this.held !== undefined) await this.record(this.held)
      })().catch(() => {
        // taken but not recorded: let go and try again (a key the row does not name protects nothing)
        if (this.held !== undefined) void this.client?.end().catch(() => {})
        else this.scheduleRetry()
      })
    }, retryMs)
    this.retry.unref()
  }
}

async function tryLock(client: pg.Client, key: number): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
    livenessLockSpace,
    key,
  ])
  return rows[0]?.ok === true
}

/** A positive int4 (pg_locks shows it as an oid: the same number). */
const newKey = () => randomInt(1, 2 ** 31 - 1)
