import type pg from 'pg'

/** The SQL text of a query as the driver is handed it (a string or a config). */
const textOf = (query: unknown) =>
  typeof query === 'string' ? query : ((query as { text?: string }).text ?? '')

/**
 * Calls `freeze` (a SIGSTOP of the server: postgres-signals.ts) as a connection of `store`'s pool (the store's, or
 * pg-boss's) is about to send the first statement `match` accepts, once: that statement goes to a hung server.
 * `match` is told whether the connection's transaction began (its BEGIN, which is never matched itself, was sent). Resolves with the statement.
 */
export function freezeOnStatement(
  store: { pool: pg.Pool },
  freeze: () => void,
  match: (text: string, inTransaction: boolean) => boolean,
): Promise<string> {
  return new Promise((resolve) => {
    let armed = true
    const onAcquire = (client: pg.PoolClient) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown
      let sawBegin = false
      ;(client as { query: unknown }).query = (...args: unknown[]) => {
        const text = textOf(args[0])
        if (text.startsWith('BEGIN')) sawBegin = true
        else if (armed && match(text, sawBegin)) {
          armed = false
          store.pool.off('acquire', onAcquire)
          freeze()
          resolve(text)
        }
        return query(...args)
      }
    }
    store.pool.on('acquire', onAcquire)
  })
}

/** freezeOnStatement for the first statement `match` accepts inside a transaction (its BEGIN answered). */
export const freezeBefore = (
  store: { pool: pg.Pool },
  freeze: () => void,
  match: (text: string) => boolean,
) => freezeOnStatement(store, freeze, (text, inTransaction) => inTransaction && match(text))
