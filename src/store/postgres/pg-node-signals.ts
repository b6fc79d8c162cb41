import type pg from 'pg'
import type { NodeMessage, NodeSignals, Posted } from '../node-signals.js'
import type { PgConnections } from './pg-connections.js'
import { PgListener } from './pg-listener.js'

const channel = 'agw_control'
/** NOTIFY payloads are limited to 8000 bytes: a larger message waits in `node_signals`, the notice points at it. */
const maxInlineBytes = 7000

interface Notice {
  to: string
  message?: NodeMessage
  /** The row of `node_signals` holding the message when it did not fit. */
  ref?: string
}

/** NodeSignals over NOTIFY: every node listens on one channel and keeps what is addressed to it. */
export class PgNodeSignals implements NodeSignals {
  private listener: PgListener | undefined
  private readonly handlers: ((message: NodeMessage) => void)[] = []

  private constructor(
    private readonly pool: pg.Pool,
    private readonly node: string,
  ) {}

  /** Listening on a connection of its own, checked every `checkMs` (PgListenerOptions.checkMs; 0: never). */
  static async start(
    url: string,
    pool: pg.Pool,
    node: string,
    checkMs = 0,
    connections?: PgConnections,
  ): Promise<PgNodeSignals> {
    const signals = new PgNodeSignals(pool, node)
    signals.listener = await PgListener.start(
      url,
      { [channel]: (payload) => void signals.receive(payload).catch(() => {}) },
      { checkMs, connections },
    )
    return signals
  }

  async send(to: string, message: NodeMessage): Promise<void> {
    const payload = JSON.stringify({ to, message } satisfies Notice)
    if (Buffer.byteLength(payload) > maxInlineBytes) await this.post(to, message)
    else await this.pool.query('SELECT pg_notify($1, $2)', [channel, payload])
  }

  /**
   * The message goes to a row of `node_signals` and the notice points at it: the receiver takes it by deleting
   * the row (`receive`, before it hands the message on), the sender withdraws it the same way, so exactly one of
   * them gets it. Receivers of every version since migration 5 take messages this way (large ones came so).
   */
  async post(to: string, message: NodeMessage): Promise<Posted> {
    // Messages nobody took (their node died) are dropped after an hour.
    await this.pool.query("DELETE FROM node_signals WHERE created_at < now() - interval '1 hour'")
    const { rows } = await this.pool.query('INSERT INTO node_signals (body) VALUES ($1) RETURNING id', [
      JSON.stringify(message),
    ])
    const ref = String((rows[0] as { id: string }).id)
    await this.pool.query('SELECT pg_notify($1, $2)', [channel, JSON.stringify({ to, ref } satisfies Notice)])
    return {
      withdraw: async () =>
        ((await this.pool.query('DELETE FROM node_signals WHERE id = $1', [ref])).rowCount ?? 0) > 0,
    }
  }

  onMessage(handler: (message: NodeMessage) => void): void {
    this.handlers.push(handler)
  }

  async close(): Promise<void> {
    await this.listener?.close()
  }

  private async receive(payload: string): Promise<void> {
    const notice = JSON.parse(payload) as Notice
    if (notice.to !== this.node) return
    let message = notice.message
    if (!message && notice.ref) {
      const { rows } = await this.pool.query('DELETE FROM node_signals WHERE id = $1 RETURNING body', [
        notice.ref,
      ])
      const row = rows[0] as { body: string } | undefined
      if (row) message = JSON.parse(row.body) as NodeMessage
    }
    if (message) for (const handler of this.handlers) handler(message)
  }
}
