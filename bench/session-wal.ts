/**
 * What a session turn writes to the SQLite WAL, against the bytes of its events (`npx tsx bench/session-wal.ts
 * [--turns N]`). A turn's store calls as the core makes them (turn created, started with the session's state,
 * three events, ended and counted with the new state, the state's event), each its own commit, on a fresh
 * store file. Every commit writes whole pages (the document's row and its index entries), so the WAL grows by
 * far more than the events' bytes: the WAL checkpointer measures the WAL file itself (wal-checkpointer.ts).
 * Sizes, not timings: noise does not move them. Not a test; the temp dir is removed.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import type { AgentEvent } from '../src/protocol/events.js'
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js'
import { inlineWalBytes } from '../src/store/sqlite/wal-checkpointer.js'
import { newSession, nodeRecord } from '../test/contract/store-contract.js'
import { printMachine } from './machine.js'
import { benchArgs, intOption } from './options.js'

const { values } = benchArgs({ options: { turns: { type: 'string' } } })
const turns = intOption(values.turns, 20, 'turns')

const dir = mkdtempSync(path.join(os.tmpdir(), 'agw-bench-session-wal-'))
try {
  const file = path.join(dir, 'gw.db')
  const store = new SqliteStore(file)
  // only a registered member node takes work (createSession refuses any other: 503 worker_unavailable)
  await store.registerNode(nodeRecord('node_a'))
  await store.createSession(newSession('ses_1'), 'node_a')
  // the WAL emptied: what follows is the turns' own
  const other = new Database(file)
  other.pragma('wal_checkpoint(TRUNCATE)')
  other.close()
  let eventBytes = 0
  const append = async (event: AgentEvent) => {
    eventBytes += JSON.stringify(await store.appendEvent('ses_1', event, new Date().toISOString())).length
  }
  for (let i = 0; i < turns; i++) {
    const id = `turn_${i}`
    const at = new Date().toISOString()
    await store.createTurn({
      id,
      sessionId: 'ses_1',
      agentTurnId: null,
      status: 'queued',
      input: [{ type: 'text', text: 'hello' }],
      createdAt: at,
      startedAt: null,
      finishedAt: null,
      finalResponse: null,
      usage: null,
      error: null,
    })
    await store.updateTurn(id, { status: 'running', startedAt: at }, { status: 'running', at })
    await append({ type: 'turn.started', turnId: id })
    await append({
      type: 'item.completed',
      item: { id: `msg_${i}`, type: 'agent_message', text: 'hello there' },
    })
    await append({ type: 'turn.completed', turnId: id, status: 'completed', usage: null })
    await store.completeTurn(
      id,
      { status: 'completed', finalResponse: 'hello there', finishedAt: at },
      at,
      'idle',
    )
    await append({ type: 'session.status', status: 'idle' })
  }
  const wal = statSync(`${file}-wal`).size
  await store.close()
  printMachine()
  console.log(`turns:   ${turns}, 6 commits each`)
  console.log(`events:  ${eventBytes} B in all, ${Math.round(eventBytes / turns)} B per turn`)
  console.log(
    `WAL:     ${wal} B in all, ${Math.round(wal / turns)} B per turn (${(wal / eventBytes).toFixed(0)}x the events)`,
  )
  console.log(
    `turns until the WAL passes the inline limit (${inlineWalBytes / 1024} KB): ${Math.ceil(inlineWalBytes / (wal / turns))}`,
  )
} finally {
  rmSync(dir, { recursive: true, force: true })
}
