import { spawn } from 'node:child_process'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'
import { EventLog } from '../../src/core/event-log.js'
import type { AgentEvent } from '../../src/protocol/events.js'
import { InProcessEventBus } from '../../src/store/event-bus.js'
import { LastSeqs } from '../../src/store/sqlite/last-seqs.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { newRun } from '../contract/store-contract.js'
import { tempDir } from '../support/temp.js'

// An event's seq is its owner's MAX(seq) + 1, remembered per connection (the owner's row is not rewritten on
// every append): these tests show it stays exact across a crash, a second connection and a rolled-back batch.

const stores: SqliteStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

function open(file: string) {
  const store = new SqliteStore(file)
  stores.push(store)
  return store
}

const output = (data: string): AgentEvent => ({ type: 'output', stream: 'stdout', data })
const now = () => new Date().toISOString()

async function seqsOf(store: SqliteStore, owner: string): Promise<number[]> {
  return (await store.eventsAfter(owner, 0, 100_000)).map((e) => e.seq)
}

const oneToN = (n: number) => Array.from({ length: n }, (_, i) => i + 1)

describe('SQLite event seq', () => {
  it('goes on from the last stored event after the process appending was killed (SIGKILL) mid-stream', async () => {
    const file = path.join(tempDir('seq-crash-'), 'gw.db')
    const setup = open(file)
    await setup.createRun(newRun('run_a'))
    await setup.close()
    stores.splice(0)
    // Another process appends as fast as it can (one event, then three in one transaction, ...) and prints
    // each seq once stored; it is killed without closing anything.
    const script = `
      const { SqliteStore } = await import(${JSON.stringify(path.join(import.meta.dirname, '../../src/store/sqlite/sqlite-store.ts'))})
      const store = new SqliteStore(${JSON.stringify(file)})
      const ev = { type: 'output', stream: 'stdout', data: 'x'.repeat(3000) }
      for (let i = 0; ; i++) {
        const at = new Date().toISOString()
        const stored = i % 2 === 0
          ? [await store.appendEvent('run_a', ev, at)]
          : await store.appendEvents([1, 2, 3].map(() => ({ ownerId: 'run_a', event: ev, at })))
        process.stdout.write(stored.map((e) => e.seq).join('\\n') + '\\n')
      }`
    const child = spawn(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    const exited = new Promise<unknown>((resolve) => child.once('close', resolve))
    let printed = 0
    try {
      for await (const line of createInterface({ input: child.stdout! })) {
        printed = Number(line)
        if (printed >= 200) break
      }
      child.kill('SIGKILL')
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    }
    expect(printed).toBeGreaterThanOrEqual(200)

    const store = open(file)
    const seqs = await seqsOf(store, 'run_a')
    // What was printed was stored; more may have been stored before the kill. No gap, no repeat.
    expect(seqs.length).toBeGreaterThanOrEqual(printed)
    expect(seqs).toEqual(oneToN(seqs.length))
    expect((await store.getRun('run_a'))?.lastSeq).toBe(seqs.length)
    const next = await store.appendEvent('run_a', output('after'), now())
    expect(next.seq).toBe(seqs.length + 1)
    expect((await store.getRun('run_a'))?.lastSeq).toBe(seqs.length + 1)
  })

  it('two connections appending to the same run in turns give one gapless sequence', async () => {
    const file = path.join(tempDir('seq-two-'), 'gw.db')
    const a = open(file)
    const b = open(file)
    await a.createRun(newRun('run_a'))
    const got: number[] = []
    for (let i = 0; i < 10; i++) {
      // Each connection's remembered seq is stale after the other appended: the primary key refuses the
      // repeat and the append reads the seq again.
      got.push((await a.appendEvent('run_a', output(`a${i}`), now())).seq)
      got.push(
        ...(await b.appendEvents([{ ownerId: 'run_a', event: output(`b${i}`), at: now() }])).map(
          (e) => e.seq,
        ),
      )
    }
    expect(got).toEqual(oneToN(20))
    expect(await seqsOf(a, 'run_a')).toEqual(oneToN(20))
    expect((await b.getRun('run_a'))?.lastSeq).toBe(20)
    expect((await b.listRuns({ limit: 10 }))[0]?.lastSeq).toBe(20)
  })

  it('a batch rolled back (its other owner was deleted) leaves no gap in the seqs of the run that remains', async () => {
    const file = path.join(tempDir('seq-rollback-'), 'gw.db')
    const store = open(file)
    await store.createRun(newRun('run_a'))
    await store.appendEvent('run_a', output('first'), now())
    await expect(
      store.appendEvents([
        { ownerId: 'run_a', event: output('rolled back'), at: now() },
        { ownerId: 'run_gone', event: output('no such run'), at: now() },
      ]),
    ).rejects.toThrow(/unknown run run_gone/)
    expect(await seqsOf(store, 'run_a')).toEqual([1])
    expect((await store.appendEvent('run_a', output('second'), now())).seq).toBe(2)

    // Through the EventLog (group commit): the bad event fails alone, the others are stored in order.
    const log = new EventLog(store, new InProcessEventBus())
    // (item deltas: consecutive output chunks of one run would be stored as one event)
    const delta = (d: string): AgentEvent => ({ type: 'item.delta', itemId: 'i', delta: d })
    const results = await Promise.allSettled([
      log.append('run_a', delta('3')),
      log.append('run_gone', delta('x')),
      log.append('run_a', delta('4')),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(await seqsOf(store, 'run_a')).toEqual([1, 2, 3, 4])
    expect((await store.getRun('run_a'))?.lastSeq).toBe(4)
  })

  it('an unknown owner is refused, for sessions too, and stores nothing', async () => {
    const store = open(path.join(tempDir('seq-unknown-'), 'gw.db'))
    await expect(store.appendEvent('run_nope', output('x'), now())).rejects.toThrow(/unknown run run_nope/)
    await expect(store.appendEvent('ses_nope', output('x'), now())).rejects.toThrow(
      /unknown session ses_nope/,
    )
    expect(await seqsOf(store, 'run_nope')).toEqual([])
    expect(await seqsOf(store, 'ses_nope')).toEqual([])
  })

  it('a run claimed after events were stored returns their last seq (RETURNING reads it too)', async () => {
    const store = open(path.join(tempDir('seq-claim-'), 'gw.db'))
    await store.createRun(newRun('run_a'))
    await store.appendEvents([1, 2, 3].map((i) => ({ ownerId: 'run_a', event: output(`${i}`), at: now() })))
    await store.registerNode({
      id: 'node_x',
      role: 'all',
      host: 'h',
      pid: 1,
      startedAt: now(),
      heartbeatAt: now(),
    })
    expect((await store.claimRun('run_a', 'node_x'))?.lastSeq).toBe(3)
  })
})

describe('LastSeqs', () => {
  it('keeps at most 10,000 owners, dropping the one appended to least recently', () => {
    const seqs = new LastSeqs()
    for (let i = 0; i < 10_000; i++) seqs.set(`run_${i}`, i)
    seqs.set('run_0', 7) // appended again: now the most recent
    seqs.set('run_new', 1)
    expect(seqs.size).toBe(10_000)
    expect(seqs.get('run_0')).toBe(7)
    expect(seqs.get('run_1')).toBeUndefined()
    expect(seqs.get('run_new')).toBe(1)
    seqs.forget('run_new')
    expect(seqs.get('run_new')).toBeUndefined()
  })
})
