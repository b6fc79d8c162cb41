import { readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import type { Session } from '../../src/protocol/sessions.js'
import { migrations } from '../../src/store/sqlite/migrations/index.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { newSession, newTurn, nodeRecord } from '../contract/store-contract.js'
import { tempDir } from '../support/temp.js'

/**
 * sessions_node indexes (node_id, archived) since migration 12, where it indexed (node_id, status): SQLite rewrites
 * an index entry whenever a column of it is written, so every warm turn's start (idle -> running) and end (-> idle)
 * wrote a page of that index to the WAL. A trigger keeps `archived` true to `status`; a node's sessions held and the
 * owners in use are read as `archived = 0`.
 */
const stores: SqliteStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

function open(file: string) {
  const store = new SqliteStore(file)
  stores.push(store)
  return store
}

/** The b-tree (table or index) of each page the WAL frames in [from, to) of `file`'s WAL hold. */
function pagesWritten(file: string, from: number, to: number): string[] {
  const wal = readFileSync(`${file}-wal`)
  const frame = 24 + wal.readUInt32BE(8)
  const reader = new Database(file, { readonly: true })
  try {
    const names = new Map(
      (reader.prepare('SELECT pageno, name FROM dbstat').all() as { pageno: number; name: string }[]).map(
        (r) => [r.pageno, r.name],
      ),
    )
    const pages = new Set<string>()
    for (let at = Math.max(32, from); at + frame <= to; at += frame)
      pages.add(names.get(wal.readUInt32BE(at)) ?? 'unknown')
    return [...pages].sort()
  } finally {
    reader.close()
  }
}

const setState = (store: SqliteStore, id: string, status: Session['status']) =>
  store.setSessionStateWithEvents(id, { status, at: new Date().toISOString() }, undefined, () => [])

/** The WAL's salt (changes when the WAL starts over after a checkpoint) and size. */
function walMark(file: string): { salt: string; size: number } {
  const wal = readFileSync(`${file}-wal`)
  return { salt: wal.subarray(16, 24).toString('hex'), size: statSync(`${file}-wal`).size }
}

/**
 * The pages `step` wrote to the WAL; tried again (up to 5 times) when the store's checkpointer started the WAL over
 * in between, which leaves the frames of the step where they cannot be told apart.
 */
async function pagesOf(file: string, step: () => Promise<unknown>): Promise<string[]> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = walMark(file)
    await step()
    const after = walMark(file)
    if (after.salt === before.salt && after.size > before.size)
      return pagesWritten(file, before.size, after.size)
  }
  throw new Error('the WAL started over at every attempt')
}

describe('sessions_node (node_id, archived)', () => {
  it("a warm turn's start and end write no page of sessions_node (the session's status changes, its archived does not)", async () => {
    const file = path.join(tempDir('store-'), 'gw.db')
    const store = open(file)
    await store.registerNode(nodeRecord('node_a'))
    await store.createSession(newSession('ses_1'), 'node_a')
    const claim = await store.claimSession('ses_1', 'node_a')
    let n = 0
    const starts: string[][] = []
    const ends: string[][] = []
    for (let i = 0; i < 3; i++) {
      const id = `turn_${++n}`
      const at = new Date().toISOString()
      starts.push(
        await pagesOf(file, () =>
          store.createTurnWithEvents(
            newTurn(id, 'ses_1', { status: 'running' }),
            claim,
            () => ({ status: 'running', at }),
            () => [
              { ownerId: 'ses_1', event: { type: 'session.status', status: 'running' }, at, fence: claim },
            ],
          ),
        ),
      )
      ends.push(
        await pagesOf(file, () =>
          store.completeTurnWithEvents(
            id,
            { status: 'completed', finishedAt: at },
            at,
            () => 'idle',
            claim,
            () => [{ ownerId: 'ses_1', event: { type: 'session.status', status: 'idle' }, at, fence: claim }],
          ),
        ),
      )
    }
    expect((await store.getSession('ses_1'))?.status).toBe('idle')
    // the steps wrote the session's row (its status) and the turn's: what they did not write is sessions_node
    for (const pages of [...starts, ...ends]) {
      expect(pages).toContain('sessions')
      expect(pages).toContain('turns')
      expect(pages).not.toContain('sessions_node')
    }
  })

  it('keeps archived true to the status on every write, inserts included, and reads what a node holds by it', async () => {
    const file = path.join(tempDir('store-'), 'gw.db')
    const store = open(file)
    await store.registerNode(nodeRecord('node_a'))
    await store.createSession(newSession('ses_live'), 'node_a')
    await store.createSession(newSession('ses_gone'), 'node_a')
    await store.createSession({ ...newSession('ses_born_archived'), status: 'archived' }, 'node_a')
    await store.createSession(newSession('ses_patched'), 'node_a')
    // the two ways a session's status is written: its state (a statement of its own), its document (JsonTable)
    await setState(store, 'ses_gone', 'archived')
    await store.updateSession('ses_patched', { status: 'archived' })
    const db = new Database(file, { readonly: true })
    const archived = () =>
      Object.fromEntries(
        (
          db.prepare('SELECT id, archived FROM sessions ORDER BY id').all() as {
            id: string
            archived: number
          }[]
        ).map((r) => [r.id, r.archived]),
      )
    try {
      const archivedBefore = { ses_born_archived: 1, ses_gone: 1, ses_patched: 1 }
      expect(archived()).toEqual({ ...archivedBefore, ses_live: 0 })
      await setState(store, 'ses_live', 'running')
      expect(archived()).toEqual({ ...archivedBefore, ses_live: 0 })
      expect(await store.ownersInUse()).toEqual(['node_a'])
      // a lost node's sessions not archived are taken over, the archived stay where they were
      const taken = await store.takeOverSessions(['node_a'], 'node_b')
      expect(taken.map((s: Session) => s.id)).toEqual(['ses_live'])
      expect(await store.ownersInUse()).toEqual(['node_b'])
      await setState(store, 'ses_live', 'archived')
      expect(archived()).toEqual({ ...archivedBefore, ses_live: 1 })
      expect(await store.ownersInUse()).toEqual([])
    } finally {
      db.close()
    }
  })

  it('migrating from schema 11 marks the archived sessions of an existing database, and a node holds the others', async () => {
    const file = path.join(tempDir('store-'), 'gw.db')
    const db = new Database(file)
    for (const m of migrations.slice(0, 11)) db.exec(m)
    db.pragma('user_version = 11')
    const insert = db.prepare(
      'INSERT INTO sessions (id, agent, agent_session_id, status, node_id, body) VALUES (?, ?, ?, ?, ?, ?)',
    )
    const sessions: [string, Session['status'], string][] = [
      ['ses_idle', 'idle', 'node_old'],
      ['ses_running', 'running', 'node_old'],
      ['ses_archived', 'archived', 'node_old'],
      ['ses_other', 'archived', 'node_other'],
    ]
    for (const [id, status, node] of sessions)
      insert.run(id, 'codex', `thread_${id}`, status, node, JSON.stringify({ ...newSession(id), status }))
    expect(db.prepare("SELECT sql FROM sqlite_schema WHERE name = 'sessions_node'").pluck().get()).toMatch(
      /\(node_id, status\)/,
    )
    db.close()

    const store = open(file)
    expect(await store.ownersInUse()).toEqual(['node_old'])
    const taken = await store.takeOverSessions(['node_old', 'node_other'], 'node_new')
    expect(taken.map((s) => s.id).sort()).toEqual(['ses_idle', 'ses_running'])
    expect(await store.ownerOf('ses_archived')).toBe('node_old')
    expect((await store.getSession('ses_archived'))?.status).toBe('archived')
    await store.close()
    const after = new Database(file, { readonly: true })
    try {
      expect(after.pragma('user_version', { simple: true })).toBe(migrations.length)
      expect(
        after.prepare('SELECT id, archived FROM sessions ORDER BY id').all() as {
          id: string
          archived: number
        }[],
      ).toEqual([
        { id: 'ses_archived', archived: 1 },
        { id: 'ses_idle', archived: 0 },
        { id: 'ses_other', archived: 1 },
        { id: 'ses_running', archived: 0 },
      ])
    } finally {
      after.close()
    }
  })
})
