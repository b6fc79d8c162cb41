import { EventEmitter } from 'node:events'
import type pg from 'pg'
import type { StoredEvent } from '../../protocol/events.js'
import type { EventBus } from '../event-bus.js'
import { PgListener } from './pg-listener.js'

const channel = 'agw_events'
/** NOTIFY payloads are limited to 8000 bytes: larger events travel as a pointer and are read from the table. */
const maxInlineBytes = 7000
/** Tries to send one notice before it is given up. */
const notifyAttempts = 3

interface Notice {
  /** The publishing node (it delivered to its own subscribers already). */
  n: string
  /** The owner (run or session id). */
  o: string
  s: number
  /** The event itself when it fits. */
  e?: StoredEvent
}

/**
 * The EventBus of a cluster: every stored event is announced with NOTIFY, and every node LISTENs on one
 * dedicated connection, so a subscriber on any API node follows a run executing on any worker. Subscribers
 * of this process get their events at once; the EventLog reads the table for anything the bus skipped or
 * reordered (a seq ahead of the next), and after a lost LISTEN connection every owner with subscribers is
 * nudged with its latest event so its subscribers catch up from the table.
 */
export class PgEventBus implements EventBus {
  private readonly local = new EventEmitter()
  private listener: PgListener | undefined

  private constructor(
    private readonly pool: pg.Pool,
    private readonly node: string,
  ) {
    this.local.setMaxListeners(0)
  }

  /** A bus publishing through `pool` (the store's) and listening on a connection of its own. */
  static async start(url: string, pool: pg.Pool, node: string): Promise<PgEventBus> {
    const bus = new PgEventBus(pool, node)
    bus.listener = await PgListener.start(
      url,
      { [channel]: (payload) => void bus.deliver(payload).catch(() => {}) },
      () => void bus.nudgeAll().catch(() => {}),
    )
    return bus
  }

  publish(ownerId: string, event: StoredEvent): void {
    this.local.emit(ownerId, event)
    let payload = JSON.stringify({ n: this.node, o: ownerId, s: event.seq, e: event } satisfies Notice)
    if (Buffer.byteLength(payload) > maxInlineBytes)
      payload = JSON.stringify({ n: this.node, o: ownerId, s: event.seq } satisfies Notice)
    void this.notify(payload)
  }

  /**
   * Sends the notice, again on a failed attempt (a pool connection lost: the next query gets another one). A notice
   * lost for good is made up by the owner's next one (its subscribers then read the table), but an owner's last
   * event (a run's run.completed) has no next one: its subscribers on other nodes would wait for it for ever.
   * Sent again, it may come after later notices: subscribers take it from the table in order all the same.
   */
  private async notify(payload: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.pool.query('SELECT pg_notify($1, $2)', [channel, payload])
        return
      } catch {
        if (attempt >= notifyAttempts || this.closed) return
      }
    }
  }

  subscribe(ownerId: string, listener: (event: StoredEvent) => void): () => void {
    this.local.on(ownerId, listener)
    return () => this.local.off(ownerId, listener)
  }

  private closed = false

  async close(): Promise<void> {
    this.closed = true
    this.local.removeAllListeners()
    await this.listener?.close()
  }

  private async deliver(payload: string): Promise<void> {
    const notice = JSON.parse(payload) as Notice
    if (notice.n === this.node || this.local.listenerCount(notice.o) === 0) return
    const event = notice.e ?? (await this.read(notice.o, notice.s))
    if (event) this.local.emit(notice.o, event)
  }

  /** Events missed while the LISTEN connection was down: each owner's latest event makes its subscribers catch up. */
  private async nudgeAll(): Promise<void> {
    for (const owner of this.local.eventNames()) {
      const { rows } = await this.pool.query(
        'SELECT body FROM events WHERE owner_id = $1 ORDER BY seq DESC LIMIT 1',
        [String(owner)],
      )
      const latest = rows[0] as { body: string } | undefined
      if (latest) this.local.emit(owner, JSON.parse(latest.body) as StoredEvent)
    }
  }

  private async read(owner: string, seq: number): Promise<StoredEvent | undefined> {
    const { rows } = await this.pool.query('SELECT body FROM events WHERE owner_id = $1 AND seq = $2', [
      owner,
      seq,
    ])
    const row = rows[0] as { body: string } | undefined
    return row ? (JSON.parse(row.body) as StoredEvent) : undefined
  }
}
