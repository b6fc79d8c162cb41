import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import type { Turn } from '../../src/protocol/sessions.js'
import { turnColumns } from '../../src/store/json-documents.js'
import { JsonTable } from '../../src/store/sqlite/json-table.js'
import { migrations } from '../../src/store/sqlite/migrations/index.js'

/**
 * JsonTable.update writes only the lookup columns whose value changes. SQLite rewrites an index on every column an
 * UPDATE's SET names, even to the value it had: a warm turn's two updates of its row (codex's turn id, its end)
 * rewrote the turns_session index page each time, one more page in the WAL per update. An `UPDATE OF` trigger
 * fires exactly when its column is named in the SET, so it tells which columns an update wrote.
 */
const dbs: Database.Database[] = []
afterEach(() => {
  for (const db of dbs.splice(0)) db.close()
})

function turnsTable() {
  const db = new Database(':memory:')
  dbs.push(db)
  for (const m of migrations) db.exec(m)
  db.exec(`CREATE TABLE written (col TEXT NOT NULL);
    CREATE TRIGGER session_id_written AFTER UPDATE OF session_id ON turns BEGIN INSERT INTO written VALUES ('session_id'); END;
    CREATE TRIGGER status_written AFTER UPDATE OF status ON turns BEGIN INSERT INTO written VALUES ('status'); END;`)
  const written = () => (db.prepare('SELECT col FROM written').pluck().all() as string[]).sort()
  const reset = () => db.exec('DELETE FROM written')
  return { table: new JsonTable<Turn>(db, 'turns', turnColumns), written, reset }
}

const turn = (): Turn =>
  ({
    id: 'turn_1',
    sessionId: 'ses_1',
    status: 'queued',
    input: [{ type: 'text', text: 'hi' }],
    createdAt: '2026-12-07T00:00:00.000Z',
  }) as Turn

describe('JsonTable.update', () => {
  it('leaves the columns it does not change out of the SET (no index rewritten for them)', () => {
    const { table, written } = turnsTable()
    table.insert(turn())
    const updated = table.update('turn_1', { agentTurnId: 'codex-turn-1' } as Partial<Turn>)
    expect(updated).toMatchObject({ agentTurnId: 'codex-turn-1', sessionId: 'ses_1', status: 'queued' })
    expect(written()).toEqual([])
    expect(table.get('turn_1')).toMatchObject({ agentTurnId: 'codex-turn-1', status: 'queued' })
  })

  it('writes a column whose value changes, and only that one', () => {
    const { table, written, reset } = turnsTable()
    table.insert(turn())
    table.update('turn_1', { status: 'running' })
    expect(written()).toEqual(['status'])
    expect(table.where({ status: 'running' }).map((t) => t.id)).toEqual(['turn_1'])
    reset()
    table.update('turn_1', { sessionId: 'ses_2', status: 'completed' })
    expect(written()).toEqual(['session_id', 'status'])
    expect(table.where({ session_id: 'ses_2', status: 'completed' }).map((t) => t.id)).toEqual(['turn_1'])
    expect(table.where({ session_id: 'ses_1' })).toEqual([])
  })

  it('answers undefined for a row that is not there, writing nothing', () => {
    const { table, written } = turnsTable()
    table.insert(turn())
    expect(table.update('turn_2', { status: 'running' })).toBeUndefined()
    expect(written()).toEqual([])
    expect(table.get('turn_1')?.status).toBe('queued')
  })
})
