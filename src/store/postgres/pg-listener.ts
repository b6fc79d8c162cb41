import pg from 'pg'
import type { PgConnections } from './pg-connections.js'

const reconnectMs = 500

/** How a PgListener finds out its connection is gone, and what it does then. */
export interface PgListenerOptions {
  /** Runs after a lost connection was replaced, so callers can catch up on what they missed meanwhile. */
  onReconnect?: () => void
  /**
   * STORE_QUERY_TIMEOUT_SECONDS in ms (0: never): every this often, a `SELECT 1` on the connection, which must be
   * answered within it, and the bound of a new connection. A LISTEN connection only receives: one its server does
   * not answer (frozen: SIGSTOP, a VM paused) or whose network dropped it without a FIN or RST (a partition, a NAT
   * mapping gone) would otherwise look open for ever, its notifications lost. Not answered, it is destroyed and
   * replaced as a lost one is.
   */
  checkMs?: number
  /** Where its connections are registered, so a stop can destroy them (PgConnections). */
  connections?: PgConnections
}

/**
 * One connection that LISTENs on some channels and hands each notification's payload to its handler.
 * A lost connection (or one that did not answer its check in time) is replaced (every 500 ms until it works);
 * `onReconnect` then runs.
 */
export class PgListener {
  private client: pg.Client | undefined
  private closed = false
  private retry: NodeJS.Timeout | undefined
  private check: NodeJS.Timeout | undefined

  private constructor(
    private readonly url: string,
    private readonly handlers: Record<string, (payload: string) => void>,
    private readonly onReconnect: () => void,
    private readonly checkMs: number,
    private readonly connections: PgConnections | undefined,
  ) {}

  static async start(
    url: string,
    handlers: Record<string, (payload: string) => void>,
    { onReconnect = () => {}, checkMs = 0, connections }: PgListenerOptions = {},
  ): Promise<PgListener> {
    const listener = new PgListener(url, handlers, onReconnect, checkMs, connections)
    await listener.connect()
    return listener
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.retry)
    clearTimeout(this.check)
    await this.client?.end().catch(() => {})
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.url,
      // a server that takes the TCP connection and never answers (frozen) fails it (0: never)
      connectionTimeoutMillis: this.checkMs,
      // the kernel's probes find a dead peer too, long after (tcp_keepalive_time), where checks are off
      keepAlive: true,
    })
    client.on('notification', (msg) => {
      if (msg.payload !== undefined) this.handlers[msg.channel]?.(msg.payload)
    })
    client.on('error', () => this.lost(client))
    client.on('end', () => this.lost(client))
    this.connections?.addClient(client)
    try {
      await client.connect()
      for (const channel of Object.keys(this.handlers)) await client.query(this.bounded(`LISTEN ${channel}`))
    } catch (err) {
      await client.end().catch(() => {})
      throw err
    }
    if (this.closed) {
      await client.end().catch(() => {})
      return
    }
    this.client = client
    this.scheduleCheck(client)
  }

  /** `text` with the check's bound as the driver's query_timeout (none when checks are off). */
  private bounded(text: string): pg.QueryConfig {
    return Object.assign({ text }, this.checkMs > 0 ? { query_timeout: this.checkMs } : {})
  }

  /** The next check of `client`: a `SELECT 1` answered in time, or the connection is destroyed and replaced. */
  private scheduleCheck(client: pg.Client): void {
    if (this.checkMs <= 0) return
    this.check = setTimeout(() => {
      client.query(this.bounded('SELECT 1')).then(
        () => {
          if (this.client === client && !this.closed) this.scheduleCheck(client)
        },
        () => {
          // with the check's query pending, end() destroys the socket (no Terminate waits on the server)
          void client.end().catch(() => {})
          this.lost(client)
        },
      )
    }, this.checkMs)
    this.check.unref()
  }

  private lost(client: pg.Client): void {
    if (this.closed || this.client !== client) return
    this.client = undefined
    clearTimeout(this.check)
    this.scheduleReconnect()
  }

  private scheduleReconnect(): void {
    this.retry = setTimeout(() => {
      this.connect()
        .then(() => {
          if (!this.closed) this.onReconnect()
        })
        .catch(() => {
          if (!this.closed) this.scheduleReconnect()
        })
    }, reconnectMs)
    this.retry.unref()
  }
}
