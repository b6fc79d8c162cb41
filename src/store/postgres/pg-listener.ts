import pg from 'pg'

const reconnectMs = 500

/**
 * One connection that LISTENs on some channels and hands each notification's payload to its handler.
 * A lost connection is replaced (every 500 ms until it works); `onReconnect` then runs, so callers can
 * catch up on what they missed meanwhile.
 */
export class PgListener {
  private client: pg.Client | undefined
  private closed = false
  private retry: NodeJS.Timeout | undefined

  private constructor(
    private readonly url: string,
    private readonly handlers: Record<string, (payload: string) => void>,
    private readonly onReconnect: () => void,
  ) {}

  static async start(
    url: string,
    handlers: Record<string, (payload: string) => void>,
    onReconnect: () => void = () => {},
  ): Promise<PgListener> {
    const listener = new PgListener(url, handlers, onReconnect)
    await listener.connect()
    return listener
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.retry)
    await this.client?.end().catch(() => {})
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url })
    client.on('notification', (msg) => {
      if (msg.payload !== undefined) this.handlers[msg.channel]?.(msg.payload)
    })
    client.on('error', () => this.lost(client))
    client.on('end', () => this.lost(client))
    try {
      await client.connect()
      for (const channel of Object.keys(this.handlers)) await client.query(`LISTEN ${channel}`)
    } catch (err) {
      await client.end().catch(() => {})
      throw err
    }
    this.client = client
  }

  private lost(client: pg.Client): void {
    if (this.closed || this.client !== client) return
    this.client = undefined
    this.scheduleReconnect()
  }

  private scheduleReconnect(): void {
    this.retry = setTimeout(() => {
      this.connect()
        .then(() => this.onReconnect())
        .catch(() => {
          if (!this.closed) this.scheduleReconnect()
        })
    }, reconnectMs)
    this.retry.unref()
  }
}
