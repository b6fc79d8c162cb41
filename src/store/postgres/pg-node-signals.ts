import type pg from 'pg'
import type { NodeMessage, NodeSignals } from '../node-signals.js'
import { PgListener } from './pg-listener.js'

const channel = 'agw_control'

/** NodeSignals over NOTIFY: every node listens on one channel and keeps what is addressed to it. */
export class PgNodeSignals implements NodeSignals {
  private listener: PgListener | undefined
  private readonly handlers: ((message: NodeMessage) => void)[] = []

  private constructor(
    private readonly pool: pg.Pool,
    private readonly node: string,
  ) {}

  static async start(url: string, pool: pg.Pool, node: string): Promise<PgNodeSignals> {
    const signals = new PgNodeSignals(pool, node)
    signals.listener = await PgListener.start(url, { [channel]: (payload) => signals.receive(payload) })
    return signals
  }

  async send(to: string, message: NodeMessage): Promise<void> {
    await this.pool.query('SELECT pg_notify($1, $2)', [channel, JSON.stringify({ to, message })])
  }

  onMessage(handler: (message: NodeMessage) => void): void {
    this.handlers.push(handler)
  }

  async close(): Promise<void> {
    await this.listener?.close()
  }

  private receive(payload: string): void {
    const { to, message } = JSON.parse(payload) as { to: string; message: NodeMessage }
    if (to !== this.node) return
    for (const handler of this.handlers) handler(message)
  }
}
