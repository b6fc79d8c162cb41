import pg from 'pg'

/**
 * A pg.Pool whose wait for a free connection (all `max` in use) fails after connectionTimeoutMillis only when no
 * connection was handed back answered meanwhile: a server that hangs answers none (its statements are cut and
 * their connections released with an error), so a request still meets it within that bound (503
 * store_unavailable); a server that answers while every connection is in use (a burst of requests on a loaded
 * machine: 100 runs submitted at once to one node, each holding a connection in turn for its admission's lock) is
 * waited for in turn. Before, such a wait failed as if the server were down: 503 store_unavailable for a request
 * the server would have taken. A new connection is bounded as before (pg-pool's own timer).
 */
export class AnsweringPool extends pg.Pool {
  /** How many connections were handed back without an error (their statements answered). */
  private answered = 0

  /** How many connections were handed back answered so far: a caller that waits compares two readings. */
  get answeredCount(): number {
    return this.answered
  }

  constructor(config: pg.PoolConfig) {
    super(config)
    this.on('release', (err: Error | undefined) => {
      if (!err) this.answered++
    })
  }

  override connect(): Promise<pg.PoolClient>
  override connect(
    callback: (
      err: Error | undefined,
      client: pg.PoolClient | undefined,
      done: (release?: unknown) => void,
    ) => void,
  ): void
  override connect(
    callback?: (
      err: Error | undefined,
      client: pg.PoolClient | undefined,
      done: (release?: unknown) => void,
    ) => void,
  ): Promise<pg.PoolClient> | undefined {
    const got = this.connectWhileAnswered()
    if (!callback) return got
    got.then(
      (client) => callback(undefined, client, (release) => client.release(release as Error | undefined)),
      (err: Error) => callback(err, undefined, () => {}),
    )
    return undefined
  }

  /** pg-pool's connect(), asked again (at the queue's end) while its wait timed out with connections answered. */
  private async connectWhileAnswered(): Promise<pg.PoolClient> {
    for (;;) {
      const answeredBefore = this.answered
      try {
        return await super.connect()
      } catch (err) {
        if (!queueWaitTimedOut(err) || this.answered === answeredBefore) throw err
      }
    }
  }
}

/** pg-pool's error for a wait for a free connection that outlasted connectionTimeoutMillis (not a new connection's). */
const queueWaitTimedOut = (err: unknown) =>
  err instanceof Error && err.message === 'timeout exceeded when trying to connect'
