import path from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import type { AgentEvent } from '../../src/protocol/events.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { newRun } from '../contract/store-contract.js'
import { tempDir } from '../support/temp.js'

// The SQLite store binds an event's JSON as UTF-8 bytes (encoded once, shared with the SSE frames) and stores
// them as TEXT: what is read back, by the store or by SQL, is the same text as before.

const stores: SqliteStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

const texts = [
  'plain ascii {"i":1}\n',
  'héllo wörld',
  'price: €5 😀',
  'lone \ud800 surrogate',
  'nul \u0000 inside',
]

describe('SQLite event bodies', () => {
  it('are stored as TEXT, read back equal, and readable by SQL, for ASCII and non-ASCII output', async () => {
    const file = path.join(tempDir('event-body-'), 'gw.db')
    const store = new SqliteStore(file)
    stores.push(store)
    await store.createRun(newRun('run_body'))
    const events: AgentEvent[] = texts.map((data) => ({ type: 'output', stream: 'stdout', data }))
    const at = new Date().toISOString()
    const single = await store.appendEvent('run_body', events[0]!, at)
    const batch = await store.appendEvents(
      events.slice(1).map((event) => ({ ownerId: 'run_body', event, at })),
    )
    const stored = [single, ...batch]
    const read = await store.eventsAfter('run_body', 0, 100)
    expect(read).toEqual(stored)
    // JSON.stringify turns a lone surrogate into an escape: it comes back as the same escape
    expect(read.map((e) => (e as { data: string }).data)).toEqual(texts)

    const db = new Database(file, { readonly: true })
    try {
      const rows = db
        .prepare(
          "SELECT typeof(body) AS kind, json_valid(body) AS valid, json_extract(body, '$.data') AS data FROM events WHERE owner_id = ? ORDER BY seq",
        )
        .all('run_body') as { kind: string; valid: number; data: string }[]
      expect(rows.map((r) => r.kind)).toEqual(texts.map(() => 'text'))
      expect(rows.map((r) => r.valid)).toEqual(texts.map(() => 1))
      expect(rows.map((r) => r.data).slice(0, 3)).toEqual(texts.slice(0, 3))
    } finally {
      db.close()
    }
  })
})
