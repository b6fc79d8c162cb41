import type pg from 'pg'

/** A pg connection's socket, which the driver's types leave out. */
const socketOf = (client: pg.Client | pg.PoolClient) =>
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream

/** A pool's connections (open, being opened, checked out), which pg-pool's types leave out. */
const clientsOf = (pool: pg.Pool) => (pool as unknown as { _clients?: pg.PoolClient[] })._clients ?? []

const poolEnds = new WeakMap<pg.Pool, Promise<void>>()

/**
 * Ends a pool once; a later caller waits for that end (pg-pool throws "Called end on pool more than once" on a
 * second end(), and sets `ended` only once its connections are gone).
 */
export function endPool(pool: pg.Pool): Promise<void> {
  let end = poolEnds.get(pool)
  if (!end) {
    end = pool.end()
    poolEnds.set(pool, end)
  }
  return end
}

/**
 * Every PostgreSQL connection a node holds (the store's pool, pg-boss's, the LISTEN connections, the liveness
 * lock's), so that a stop can let go of them all at once when the server does not answer (frozen: SIGSTOP, a VM
 * paused, a network path dropping packets). Ending a connection politely (Terminate, then waiting for the server to
 * close its side) waits for that server; destroying its socket does not, and fails what is pending on it.
 */
export class PgConnections {
  private readonly pools = new Set<pg.Pool>()
  private readonly clients = new Set<pg.Client>()
  private destroyed = false

  /** A pool: destroyAll ends it (it opens no more) and destroys its connections. */
  addPool(pool: pg.Pool): void {
    this.pools.add(pool)
  }

  /** A connection of its own (LISTEN, the liveness lock's): forgotten once it ended (`end`). */
  addClient(client: pg.Client): void {
    if (this.destroyed) return void socketOf(client)?.destroy()
    this.clients.add(client)
    client.once('end', () => this.clients.delete(client))
  }

  /**
   * Destroys every connection's socket: what waits on one fails ("Connection terminated"), and nothing is sent on
   * them any more (a COMMIT not yet answered stays as the server has it: applied or not when it wakes). The pools
   * are ended first, so none opens another connection; connections added after this are destroyed at once.
   */
  destroyAll(): void {
    this.destroyed = true
    for (const pool of this.pools) {
      if (!pool.ended) void endPool(pool).catch(() => {})
      for (const client of [...clientsOf(pool)]) socketOf(client)?.destroy()
    }
    for (const client of this.clients) socketOf(client)?.destroy()
  }
}
