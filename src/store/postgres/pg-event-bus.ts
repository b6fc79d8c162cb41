import type pg from 'pg'
import type { StoredEvent } from '../../protocol/events.js'
import type { EventBus, OwnedEvent } from '../event-bus.js'
import { OwnerListeners } from '../owner-listeners.js'
import type { PgConnections } from './pg-connections.js'
import { PgListener } from './pg-listener.js'
import { type Notice, noticesOf } from './pg-notices.js'

const channel = 'agw_events'
/** Tries to send one commit's notices before they are given up. */
const notifyAttempts = 3

/**
 * The EventBus of a cluster: every commit's events are announced with NOTIFY (one statement per commit, one notice
 * per owner when its events fit in one, the events inline), and every node LISTENs on one dedicated connection, so a
 * subscriber on any API node follows a run executing on any worker. Subscribers of this process get their events
 * at once; the EventLog reads the table for anything the bus skipped or reordered (a seq ahead of the next), and
 * after a lost LISTEN connection every owner with subscribers is nudged with its latest event so its subscribers
 * catch up from the table.
 */
export class PgEventBus implements EventBus {
  private readonly local = new OwnerListeners()
  private listener: PgListener | undefined

  private constructor(
    private readonly pool: pg.Pool,
    private readonly node: string,
  ) {}

  /**
   * A bus publishing through `pool` (the store's) and listening on a connection of its own, checked every
   * `checkMs` (STORE_QUERY_TIMEOUT_SECONDS; 0: never): PgListenerOptions.checkMs.
   */
  static async start(
    url: string,
    pool: pg.Pool,
    node: string,
    checkMs = 0,
    connections?: PgConnections,
  ): Promise<PgEventBus> {
    const bus = new PgEventBus(pool, node)
    bus.listener = await PgListener.start(
      url,
      { [channel]: (payload) => void bus.deliver(payload).catch(() => {}) },
      { onReconnect: () => void bus.nudgeAll().catch(() => {}), checkMs, connections },
    )
    return bus
  }

  publish(events: readonly OwnedEvent[]): void {
    if (events.length === 0) return
    const byOwner = new Map<string, StoredEvent[]>()
    for (const { ownerId, event } of events) {
      this.local.emit(ownerId, event)
      const own = byOwner.get(ownerId)
      if (own) own.push(event)
      else byOwner.set(ownerId, [event])
    }
    const payloads: string[] = []
    for (const [owner, own] of byOwner) payloads.push(...noticesOf(this.node, owner, own))
    const sending = this.notify(payloads)
    this.sending.add(sending)
    void sending.finally(() => this.sending.delete(sending))
  }

  /** The notices being sent (close waits for them: the last commits before a shutdown are announced too). */
  private readonly sending = new Set<Promise<void>>()

  /**
   * Sends one commit's notices in one statement (one round trip and transaction, however many owners), again on a
   * failed attempt (a pool connection lost: the next query gets another one). A notice lost for good is made up by
   * the owner's next one (its subscribers then read the table), but an owner's last event (a run's run.completed)
   * has no next one: its subscribers on other nodes would wait for it for ever. Sent again, it may come after later
   * notices: subscribers take it from the table in order all the same.
   */
  private async notify(payloads: string[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.pool.query('SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload', [
          channel,
          payloads,
        ])
        return
      } catch {
        if (attempt >= notifyAttempts || this.closed) return
      }
    }
  }

  subscribe(ownerId: string, listener: (event: StoredEvent) => void): () => void {
    return this.local.on(ownerId, listener)
  }

  private closed = false

  async close(): Promise<void> {
    await Promise.all(this.sending)
    this.closed = true
    this.local.clear()
    await this.listener?.close()
  }

  private async deliver(payload: string): Promise<void> {
    const notice = JSON.parse(payload) as Notice
    if (notice.n === this.node || this.local.count(notice.o) === 0) return
    const events = notice.e
      ? [...(notice.b ?? []), notice.e]
      : await this.read(notice.o, notice.f ?? notice.s, notice.s)
    for (const event of events) this.local.emit(notice.o, event)
  }

  /** Events missed while the LISTEN connection was down: each owner's latest event makes its subscribers catch up. */
  private async nudgeAll(): Promise<void> {
    for (const owner of this.local.ownerIds()) {
      const { rows } = await this.pool.query(
        'SELECT body FROM events WHERE owner_id = $1 ORDER BY seq DESC LIMIT 1',
        [owner],
      )
      const latest = rows[0] as { body: string } | undefined
      if (latest) this.local.emit(owner, JSON.parse(latest.body) as StoredEvent)
    }
  }

  /** The stored events of `owner` from seq `first` to `last`, in order. */
  private async read(owner: string, first: number, last: number): Promise<StoredEvent[]> {
    const { rows } = await this.pool.query(
      'SELECT body FROM events WHERE owner_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq',
      [owner, first, last],
    )
    return (rows as { body: string }[]).map((row) => JSON.parse(row.body) as StoredEvent)
  }
}
