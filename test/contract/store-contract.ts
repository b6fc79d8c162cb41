import { afterEach, describe, expect, it } from 'vitest'
import type { AgentEvent } from '../../src/protocol/events.js'
import { queuedRun, type Run } from '../../src/protocol/runs.js'
import type { Approval, Session, Turn } from '../../src/protocol/sessions.js'
import type { WebhookDelivery } from '../../src/protocol/webhooks.js'
import {
  ExternalIdTaken,
  firstClaim,
  type NodeRecord,
  NotAMember,
  RunTakenOver,
  type SessionStateRead,
  SessionTakenOver,
  type Store,
  type TurnStep,
} from '../../src/store/store.js'
import { setStateAlone } from '../support/set-state.js'

/**
 * The behaviour every Store must show. A store implementation reuses this unchanged: it only supplies how to
 * open a fresh, empty database, and a second connection to the same database (what another gateway process
 * would hold), so the atomic operations are raced across connections.
 */
export interface StoreUnderTest {
  /** A fresh empty database: a store on it, and a way to open further connections to it. */
  fresh(): Promise<{ store: Store; connect(): Promise<Store> }>
}

export function newRun(id: string, patch: Partial<Run> = {}): Run {
  return { ...queuedRun(id, 'codex-exec', { prompt: 'p', cwd: '/w' }, '2026-01-01T00:00:00.000Z'), ...patch }
}

/** A run's run.completed event for a succeeded run, as the event log stores it. */
export const runSucceeded = {
  type: 'run.completed' as const,
  status: 'succeeded' as const,
  exitCode: 0,
  signal: null,
  reason: 'exited' as const,
  finalResponse: 'x',
  usage: null,
}

export function newSession(id: string, patch: Partial<Session> = {}): Session {
  return {
    id,
    agent: 'codex',
    agentSessionId: `thread-${id}`,
    status: 'idle',
    cwd: '/w',
    model: null,
    sandbox: null,
    approvalPolicy: null,
    forkedFrom: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    turnCount: 0,
    lastSeq: 0,
    ...patch,
  }
}

export function newTurn(id: string, sessionId: string, patch: Partial<Turn> = {}): Turn {
  return {
    id,
    sessionId,
    agentTurnId: null,
    status: 'queued',
    input: [{ type: 'text', text: 'hi' }],
    createdAt: '2026-01-01T00:00:00.000Z',
    startedAt: null,
    finishedAt: null,
    finalResponse: null,
    usage: null,
    error: null,
    ...patch,
  }
}

export function newApproval(id: string, sessionId: string, patch: Partial<Approval> = {}): Approval {
  return {
    id,
    sessionId,
    turnId: null,
    kind: 'command',
    command: 'ls',
    cwd: '/w',
    changes: null,
    reason: null,
    options: ['accept', 'decline'],
    state: 'pending',
    decision: null,
    by: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    resolvedAt: null,
    expiresAt: '2026-01-01T00:10:00.000Z',
    ...patch,
  }
}

/** A pending webhook delivery, due at `nextAttemptAt`. */
export function newWebhookDelivery(
  id: string,
  nextAttemptAt: string,
  body = '{"type":"run.completed"}',
): WebhookDelivery {
  return {
    id,
    url: 'https://example.test/hook',
    event: 'run.completed',
    body,
    state: 'pending',
    attempts: 0,
    nextAttemptAt,
    lastError: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    deliveredAt: null,
  }
}

/** A node's record, as a gateway registers it (only a registered node owns work: createSession, claims). */
export function nodeRecord(id: string, heartbeatAt = '2026-01-01T00:00:00.000Z'): NodeRecord {
  return { id, role: 'all', host: 'h', pid: 1, startedAt: '2026-01-01T00:00:00.000Z', heartbeatAt }
}

const ids = (rows: { id: string }[]) => rows.map((r) => r.id)

/** A run.completed's fields as a takeover records them. */
const interruptedEnd = {
  status: 'interrupted',
  exitCode: null,
  signal: null,
  reason: 'worker_lost',
  finalResponse: null,
  usage: null,
} as const

/**
 * A node's writes racing a takeover: `steps` writes, one after the other (`step(i)`: what it stored, or a falsy
 * value or a `refused` error when it was fenced out), while `takeOver` runs meanwhile and calls `committed()` once
 * the takeover (or the mark) is committed. Resolves with the writes stored, those of them that began after
 * `committed()` (a fence holds when there are none), and what `takeOver` returned.
 */
async function raceTakeover<R>(
  steps: number,
  step: (i: number) => Promise<unknown>,
  refused: abstract new (...args: never[]) => Error,
  takeOver: (committed: () => void) => Promise<R>,
): Promise<{ stored: number[]; afterTheTakeover: number[]; taken: R }> {
  let takenOver = false
  const stored: number[] = []
  const afterTheTakeover: number[] = []
  const writing = (async () => {
    for (let i = 0; i < steps; i++) {
      const after = takenOver
      const done = await step(i).catch((err: unknown) => {
        if (!(err instanceof refused)) throw err
      })
      if (done) stored.push(i)
      if (done && after) afterTheTakeover.push(i)
    }
  })()
  const taken = await takeOver(() => {
    takenOver = true
  })
  await writing
  return { stored, afterTheTakeover, taken }
}

/** Two events of `ownerId` in one batch (the i-th), fenced by `fence`. */
const outputBatch = (ownerId: string, i: number, fence: string | number) =>
  [0, 1].map((j) => ({
    ownerId,
    event: { type: 'output', stream: 'stdout', data: `${i}.${j}` } as AgentEvent,
    at: '2026-01-01T00:00:05.000Z',
    fence,
  }))

export function describeStoreContract(name: string, subject: StoreUnderTest): void {
  describe(`store contract: ${name}`, () => {
    const opened: Store[] = []
    afterEach(async () => {
      for (const s of opened.splice(0).reverse()) await s.close()
    })

    /** A fresh database where `members` are registered nodes (only members take work: admitRun, claims). */
    async function fresh(members: readonly string[] = ['node_a', 'node_b']) {
      const db = await subject.fresh()
      opened.push(db.store)
      for (const id of members) await db.store.registerNode(nodeRecord(id))
      const connect = async () => {
        const other = await db.connect()
        opened.push(other)
        return other
      }
      return { store: db.store, connect }
    }

    it('pings, and keeps what it stored for another connection', async () => {
      const { store, connect } = await fresh()
      expect(await store.ping()).toBe(true)
      // a store that takes writes is not full (PostgreSQL: without a probe; SQLite: its probe stored)
      expect(await store.storageFull()).toBe(false)
      await store.createRun(newRun('run_a'))
      await store.appendEvent('run_a', { type: 'run.queued' }, 't1')
      const other = await connect()
      expect((await other.getRun('run_a'))?.lastSeq).toBe(1)
      expect(await other.eventsAfter('run_a', 0, 10)).toEqual([
        { type: 'run.queued', seq: 1, at: 't1', runId: 'run_a' },
      ])
    })

    it('numbers events 1..n per owner, pages them after a cursor, refuses unknown owners', async () => {
      const { store } = await fresh()
      await store.createRun(newRun('run_a'))
      await store.createRun(newRun('run_b'))
      await store.createSession(newSession('ses_a'), 'node_a')
      for (let i = 0; i < 5; i++) await store.appendEvent('run_a', { type: 'turn.started' }, `t${i}`)
      await store.appendEvent('run_b', { type: 'run.queued' }, 't')
      await store.appendEvent('ses_a', { type: 'session.status', status: 'idle' }, 't')
      expect((await store.eventsAfter('run_a', 0, 100)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5])
      expect((await store.eventsAfter('run_a', 2, 2)).map((e) => e.seq)).toEqual([3, 4])
      expect((await store.eventsAfter('run_b', 0, 100)).map((e) => e.seq)).toEqual([1])
      expect(await store.eventsAfter('ses_a', 0, 100)).toEqual([
        { type: 'session.status', status: 'idle', seq: 1, at: 't', sessionId: 'ses_a' },
      ])
      expect((await store.getSession('ses_a'))?.lastSeq).toBe(1)
      await expect(store.appendEvent('run_x', { type: 'run.queued' }, 't')).rejects.toThrow(/unknown run/)
      await expect(store.appendEvent('ses_x', { type: 'run.queued' }, 't')).rejects.toThrow(/unknown session/)
    })

    it('createSession stores its events with it in one transaction, all or nothing', async () => {
      const { store } = await fresh()
      const idle = { type: 'session.status', status: 'idle' } as const
      // an event refused (here: of an unknown owner) rolls the session back with it
      await expect(
        store.createSession(newSession('ses_a'), 'node_a', [
          { ownerId: 'ses_a', event: idle, at: 't1' },
          { ownerId: 'ses_x', event: idle, at: 't1' },
        ]),
      ).rejects.toThrow(/unknown session/)
      expect(await store.getSession('ses_a')).toBeUndefined()
      expect(await store.listSessions({ limit: 10 })).toEqual([])
      // created again: its first event is seq 1 (no seq noted in the rolled-back transaction kept)
      expect(
        await store.createSession(newSession('ses_a'), 'node_a', [
          { ownerId: 'ses_a', event: idle, at: 't2' },
        ]),
      ).toEqual([{ ...idle, seq: 1, at: 't2', sessionId: 'ses_a' }])
      expect((await store.getSession('ses_a'))?.lastSeq).toBe(1)
      expect(await store.eventsAfter('ses_a', 0, 10)).toEqual([
        { ...idle, seq: 1, at: 't2', sessionId: 'ses_a' },
      ])
    })

    it('admitRun stores its events with the run in one transaction, all or nothing; none when it is refused', async () => {
      const { store } = await fresh()
      const queued = { type: 'run.queued' } as const
      // an event refused (here: of an unknown owner) rolls the run back with it
      await expect(
        store.admitRun(newRun('run_a'), 'node_a', 10, [
          { ownerId: 'run_a', event: queued, at: 't1' },
          { ownerId: 'run_x', event: queued, at: 't1' },
        ]),
      ).rejects.toThrow(/unknown run/)
      expect(await store.getRun('run_a')).toBeUndefined()
      // admitted again: its first event is seq 1 (no seq noted in the rolled-back transaction kept), its owner set
      expect(
        await store.admitRun(newRun('run_a'), 'node_a', 10, [{ ownerId: 'run_a', event: queued, at: 't2' }]),
      ).toEqual([{ ...queued, seq: 1, at: 't2', runId: 'run_a' }])
      expect(await store.getRun('run_a')).toMatchObject({ status: 'queued', lastSeq: 1 })
      expect(await store.ownerOf('run_a')).toBe('node_a')
      expect(await store.eventsAfter('run_a', 0, 10)).toEqual([
        { ...queued, seq: 1, at: 't2', runId: 'run_a' },
      ])
      // over the bound: neither the run nor its events
      expect(
        await store.admitRun(newRun('run_b'), null, 1, [{ ownerId: 'run_b', event: queued, at: 't3' }]),
      ).toBe(false)
      expect(await store.getRun('run_b')).toBeUndefined()
      expect(await store.eventsAfter('run_b', 0, 10)).toEqual([])
    })

    it('appendEvents stores a batch in order in one transaction, all or nothing', async () => {
      const { store, connect } = await fresh()
      await store.createRun(newRun('run_a'))
      await store.createSession(newSession('ses_a'), 'node_a')
      await store.appendEvent('run_a', { type: 'run.queued' }, 't0')
      const stored = await store.appendEvents([
        { ownerId: 'run_a', event: { type: 'turn.started' }, at: 't1' },
        { ownerId: 'ses_a', event: { type: 'session.status', status: 'running' }, at: 't2' },
        { ownerId: 'run_a', event: { type: 'item.delta', itemId: 'i', delta: 'x' }, at: 't3' },
      ])
      expect(stored).toEqual([
        { type: 'turn.started', seq: 2, at: 't1', runId: 'run_a' },
        { type: 'session.status', status: 'running', seq: 1, at: 't2', sessionId: 'ses_a' },
        { type: 'item.delta', itemId: 'i', delta: 'x', seq: 3, at: 't3', runId: 'run_a' },
      ])
      const other = await connect()
      expect(await other.eventsAfter('run_a', 0, 10)).toEqual([
        { type: 'run.queued', seq: 1, at: 't0', runId: 'run_a' },
        stored[0],
        stored[2],
      ])
      await expect(
        store.appendEvents([
          { ownerId: 'run_a', event: { type: 'turn.started' }, at: 't4' },
          { ownerId: 'run_x', event: { type: 'turn.started' }, at: 't5' },
        ]),
      ).rejects.toThrow(/unknown run run_x/)
      expect((await other.eventsAfter('run_a', 3, 10)).length).toBe(0)
      expect((await other.getRun('run_a'))?.lastSeq).toBe(3)
    })

    it('events appended concurrently from two connections get distinct consecutive seqs', async () => {
      const { store, connect } = await fresh()
      const other = await connect()
      await store.createRun(newRun('run_a'))
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          (i % 2 ? store : other).appendEvent(
            'run_a',
            { type: 'item.delta', itemId: 'i', delta: `${i}` },
            't',
          ),
        ),
      )
      const seqs = (await store.eventsAfter('run_a', 0, 100)).map((e) => e.seq)
      expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => i + 1))
    })

    it('updateRun merges a patch and never moves lastSeq backwards (events own it)', async () => {
      const { store } = await fresh()
      await store.createRun(newRun('run_a'))
      await store.appendEvent('run_a', { type: 'run.queued' }, 't')
      await store.updateRun('run_a', { status: 'running', lastSeq: 0, pid: 42 })
      expect(await store.getRun('run_a')).toMatchObject({
        status: 'running',
        lastSeq: 1,
        pid: 42,
        agent: 'codex-exec',
      })
      expect(await store.getRun('run_missing')).toBeUndefined()
    })

    it('lists runs by status and agent, newest id first, before a cursor', async () => {
      const { store } = await fresh()
      await store.createRun(newRun('run_1', { status: 'succeeded', finishedAt: '2020-01-01T00:00:00.000Z' }))
      await store.createRun(newRun('run_2', { status: 'running' }))
      await store.createRun(newRun('run_3', { status: 'queued', agent: 'cli' }))
      expect(ids(await store.listRuns({ limit: 10 }))).toEqual(['run_3', 'run_2', 'run_1'])
      expect(ids(await store.listRuns({ limit: 2 }))).toEqual(['run_3', 'run_2'])
      expect(ids(await store.listRuns({ limit: 10, status: 'running' }))).toEqual(['run_2'])
      expect(ids(await store.listRuns({ limit: 10, agent: 'cli' }))).toEqual(['run_3'])
      expect(ids(await store.listRuns({ limit: 10, before: 'run_3' }))).toEqual(['run_2', 'run_1'])
    })

    it('admits runs up to the bound of unfinished runs, and again once one finished', async () => {
      const { store } = await fresh()
      expect(await store.admitRun(newRun('run_1'), 'node_a', 2)).toEqual([])
      expect(await store.admitRun(newRun('run_2'), null, 2)).toEqual([])
      expect(await store.admitRun(newRun('run_3'), 'node_a', 2)).toBe(false)
      expect(await store.getRun('run_3')).toBeUndefined()
      await store.updateRun('run_1', { status: 'succeeded', finishedAt: '2026-01-01T00:00:01.000Z' })
      expect(await store.admitRun(newRun('run_3'), 'node_a', 2)).toEqual([])
      expect(await store.ownerOf('run_3')).toBe('node_a')
      expect(await store.ownerOf('run_2')).toBeNull()
      expect(await store.ownerOf('run_missing')).toBeUndefined()
    })

    it('a burst of admissions from two connections admits exactly the bound', async () => {
      const { store, connect } = await fresh()
      const other = await connect()
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          (i % 2 ? store : other).admitRun(newRun(`run_${String(i).padStart(3, '0')}`), 'node_a', 7),
        ),
      )
      expect(results.filter(Boolean)).toHaveLength(7)
      expect(await store.listRuns({ limit: 100 })).toHaveLength(7)
    })

    it('claims a queued run once: the owner or anyone for unowned runs, never twice', async () => {
      const { store, connect } = await fresh()
      const other = await connect()
      await store.admitRun(newRun('run_mine'), 'node_a', 100)
      await store.admitRun(newRun('run_free'), null, 100)
      expect(await store.claimRun('run_mine', 'node_b')).toBeUndefined()
      expect(await store.claimRun('run_mine', 'node_a')).toMatchObject({ id: 'run_mine', status: 'queued' })
      expect(await store.claimRun('run_mine', 'node_a')).toBeUndefined()
      const racing = await Promise.all([
        store.claimRun('run_free', 'node_a'),
        other.claimRun('run_free', 'node_b'),
      ])
      expect(racing.filter(Boolean)).toHaveLength(1)
      const winner = racing[0] ? 'node_a' : 'node_b'
      expect(await store.ownerOf('run_free')).toBe(winner)
      await store.admitRun(newRun('run_done', { status: 'cancelled' }), null, 100)
      expect(await store.claimRun('run_done', 'node_a')).toBeUndefined()
      expect(await store.claimRun('run_missing', 'node_a')).toBeUndefined()
    })

    it('claimNextRun hands out the oldest claimable run, each exactly once across connections', async () => {
      const { store, connect } = await fresh()
      const other = await connect()
      await store.registerNode(nodeRecord('node_elsewhere'))
      for (let i = 0; i < 10; i++) await store.admitRun(newRun(`run_${i}`), null, 100)
      await store.admitRun(newRun('run_x'), 'node_elsewhere', 100)
      expect((await store.claimNextRun('node_a'))?.id).toBe('run_0')
      const claims = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          (i % 2 ? store : other).claimNextRun(i % 2 ? 'node_a' : 'node_b'),
        ),
      )
      const claimed = claims.filter((r): r is Run => r !== undefined).map((r) => r.id)
      expect(claimed.sort()).toEqual(Array.from({ length: 9 }, (_, i) => `run_${i + 1}`))
      expect(await store.claimNextRun('node_a')).toBeUndefined()
      expect((await store.claimNextRun('node_elsewhere'))?.id).toBe('run_x')
    })

    it('takes over the unfinished runs of lost nodes, each run to exactly one taker; lists owners in use', async () => {
      const { store, connect } = await fresh(['node_a', 'node_b', 'node_c', 'node_d'])
      const other = await connect()
      await store.admitRun(newRun('run_1'), 'node_a', 100)
      await store.admitRun(newRun('run_2'), 'node_b', 100)
      await store.admitRun(newRun('run_3'), 'node_a', 100)
      await store.admitRun(newRun('run_4'), null, 100)
      await store.updateRun('run_2', { status: 'running' })
      await store.updateRun('run_3', { status: 'failed', finishedAt: '2026-01-01T00:00:01.000Z' })
      await store.createSession(newSession('ses_1'), 'node_c')
      await store.createSession(newSession('ses_2', { status: 'archived' }), 'node_d')
      expect(await store.ownersInUse()).toEqual(['node_a', 'node_b', 'node_c'])
      expect(await store.takeOverRuns([], 'node_x')).toEqual([])
      const [first, second] = await Promise.all([
        store.takeOverRuns(['node_a', 'node_b'], 'node_x'),
        other.takeOverRuns(['node_a', 'node_b'], 'node_y'),
      ])
      expect(ids([...first!, ...second!]).sort()).toEqual(['run_1', 'run_2'])
      expect(ids(first!.length ? first! : second!)).toEqual(['run_1', 'run_2'])
      expect(await store.ownerOf('run_1')).toBe(first!.length ? 'node_x' : 'node_y')
      expect(await store.ownerOf('run_3')).toBe('node_a')
      expect(await store.ownerOf('run_4')).toBeNull()
      expect(await store.ownersInUse()).toEqual(['node_c', first!.length ? 'node_x' : 'node_y'])
    })

    it("takes over lost nodes' finished runs whose events end without run.completed, each to one taker; writes that end once", async () => {
      const { store, connect } = await fresh(['node_a', 'node_b', 'node_c', 'node_d'])
      const other = await connect()
      const end = { type: 'run.completed', ...interruptedEnd } as const
      const finished = { status: 'failed', finishedAt: '2026-01-01T00:00:01.000Z' } as const
      // run_1: recorded finished, its run.completed never stored (node_a died between the two writes)
      await store.admitRun(newRun('run_1'), 'node_a', 100)
      await store.appendEvent('run_1', { type: 'run.queued' }, 't')
      await store.updateRun('run_1', finished)
      // run_2: finished with its end; run_3: still running (takeOverRuns' part); run_4: another node's
      await store.admitRun(newRun('run_2'), 'node_a', 100)
      await store.appendEvent('run_2', end, 't')
      await store.updateRun('run_2', finished)
      await store.admitRun(newRun('run_3'), 'node_a', 100)
      await store.updateRun('run_3', { status: 'running' })
      // run_5: finished without a single event (history from before the event was written)
      await store.admitRun(newRun('run_5'), 'node_a', 100)
      await store.updateRun('run_5', finished)
      await store.admitRun(newRun('run_4'), 'node_d', 100)
      await store.updateRun('run_4', finished)
      expect(await store.takeOverRunsMissingEnd([], 'node_b')).toEqual([])
      const [first, second] = await Promise.all([
        store.takeOverRunsMissingEnd(['node_a'], 'node_b'),
        other.takeOverRunsMissingEnd(['node_a'], 'node_c'),
      ])
      expect(ids([...first!, ...second!]).sort()).toEqual(['run_1', 'run_5'])
      expect(ids(first!.length ? first! : second!)).toEqual(['run_1', 'run_5'])
      const taker = first!.length ? 'node_b' : 'node_c'
      expect(await store.ownerOf('run_1')).toBe(taker)
      expect(await store.ownerOf('run_2')).toBe('node_a')
      expect(await store.ownerOf('run_3')).toBe('node_a')
      expect(await store.ownerOf('run_4')).toBe('node_d')
      // fenced like any run event: a node that does not own the run is refused, nothing stored
      const stranger = taker === 'node_b' ? 'node_c' : 'node_b'
      await expect(store.appendRunEnd('run_1', end, 't', stranger)).rejects.toBeInstanceOf(RunTakenOver)
      // two writers of the same end (a taker and a taker of the taker): stored once, after the run's events
      const writes = await Promise.all([
        store.appendRunEnd('run_1', end, 't', taker),
        other.appendRunEnd('run_1', end, 't', taker),
      ])
      expect(writes.filter((w) => w !== undefined)).toHaveLength(1)
      expect(writes.find((w) => w !== undefined)).toMatchObject({
        type: 'run.completed',
        seq: 2,
        runId: 'run_1',
      })
      expect((await store.eventsAfter('run_1', 0, 10)).map((e) => e.type)).toEqual([
        'run.queued',
        'run.completed',
      ])
      expect(await store.appendRunEnd('run_2', end, 't', 'node_a')).toBeUndefined()
      expect((await store.eventsAfter('run_2', 0, 10)).map((e) => e.type)).toEqual(['run.completed'])
      // ended now: nothing is missing any more
      expect(await store.appendRunEnd('run_5', end, 't', taker)).toMatchObject({ seq: 1 })
      expect(await store.takeOverRunsMissingEnd(['node_a', taker], stranger)).toEqual([])
      await expect(store.appendRunEnd('run_none', end, 't', 'node_b')).rejects.toThrow(/unknown run/)
    })

    it('retention deletes finished runs before the cutoff with their events, and nothing else', async () => {
      const { store } = await fresh()
      await store.createRun(
        newRun('run_old', { status: 'succeeded', finishedAt: '2020-01-01T00:00:00.000Z' }),
      )
      await store.appendEvent('run_old', { type: 'run.queued' }, 't')
      await store.createRun(newRun('run_new', { status: 'succeeded', finishedAt: new Date().toISOString() }))
      await store.createRun(newRun('run_live', { status: 'running' }))
      expect(await store.deleteFinishedBefore('2021-01-01T00:00:00.000Z')).toBe(1)
      expect(await store.getRun('run_old')).toBeUndefined()
      expect(await store.eventsAfter('run_old', 0, 10)).toEqual([])
      expect(ids(await store.listRuns({ limit: 10 })).sort()).toEqual(['run_live', 'run_new'])
    })

    it('sessions: a client-chosen externalId (seed 004 sessionId) finds its session and is unique', async () => {
      const { store } = await fresh()
      await store.createSession(newSession('ses_e1', { externalId: 'client-a' }), 'node_a')
      await store.createSession(newSession('ses_e2'), 'node_a')
      expect((await store.findSessionByExternalId('client-a'))?.id).toBe('ses_e1')
      expect(await store.findSessionByExternalId('client-b')).toBeUndefined()
      // refused as a conflict naming the id (409 on every surface), nothing stored
      const taken = store.createSession(newSession('ses_e3', { externalId: 'client-a' }), 'node_a')
      await expect(taken).rejects.toBeInstanceOf(ExternalIdTaken)
      await expect(taken).rejects.toMatchObject({
        status: 409,
        code: 'conflict',
        details: { externalId: 'client-a' },
      })
      expect(await store.getSession('ses_e3')).toBeUndefined()
      // a session without one is not concerned
      await store.createSession(newSession('ses_e4'), 'node_a')
    })

    it('sessions: stored with their owner, found by agent id, listed, moved to another node', async () => {
      const { store } = await fresh()
      await store.createSession(newSession('ses_1', { agent: 'claude' }), 'node_a')
      await store.createSession(newSession('ses_2', { status: 'running' }), 'node_a')
      await store.createSession(newSession('ses_3', { status: 'archived' }), 'node_a')
      expect(await store.getSession('ses_1')).toMatchObject({ agent: 'claude', lastSeq: 0 })
      expect((await store.findSessionByAgentId('thread-ses_2'))?.id).toBe('ses_2')
      expect(await store.findSessionByAgentId('thread-none')).toBeUndefined()
      expect(ids(await store.listSessions({ limit: 10 }))).toEqual(['ses_3', 'ses_2', 'ses_1'])
      expect(ids(await store.listSessions({ limit: 10, status: 'running' }))).toEqual(['ses_2'])
      expect(ids(await store.listSessions({ limit: 10, agent: 'claude' }))).toEqual(['ses_1'])
      expect(ids(await store.listSessions({ limit: 10, before: 'ses_2' }))).toEqual(['ses_1'])
      expect(await store.countSessions()).toEqual({ idle: 1, running: 1, archived: 1 })
      await store.claimSession('ses_2', 'node_b')
      expect(await store.ownerOf('ses_2')).toBe('node_b')
      expect(ids(await store.takeOverSessions(['node_b', 'node_z'], 'node_c'))).toEqual(['ses_2'])
      expect(await store.ownerOf('ses_2')).toBe('node_c')
      expect(await store.takeOverSessions(['node_b'], 'node_c')).toEqual([])
      // Archived sessions stay where they are.
      expect(ids(await store.takeOverSessions(['node_a'], 'node_c'))).toEqual(['ses_1'])
      expect(await store.ownerOf('ses_3')).toBe('node_a')
      expect(await store.updateSession('ses_1', { status: 'running' })).toMatchObject({ status: 'running' })
      expect(await store.updateSession('ses_missing', { status: 'running' })).toBeUndefined()
    })

    it('tenants: runs, sessions and (through their session) approvals are listed per tenant; null is untenanted', async () => {
      const { store, connect } = await fresh()
      await store.createRun(newRun('run_t1', { tenant: 'team-a' }))
      await store.createRun(newRun('run_t2', { tenant: 'team-b' }))
      await store.createRun(newRun('run_t3'))
      expect(await store.admitRun(newRun('run_t4', { tenant: 'team-a' }), 'node_a', 100)).toEqual([])
      expect(ids(await store.listRuns({ limit: 10, tenant: 'team-a' }))).toEqual(['run_t4', 'run_t1'])
      expect(ids(await store.listRuns({ limit: 10, tenant: 'team-b' }))).toEqual(['run_t2'])
      expect(ids(await store.listRuns({ limit: 10, tenant: null }))).toEqual(['run_t3'])
      expect(ids(await store.listRuns({ limit: 10 }))).toEqual(['run_t4', 'run_t3', 'run_t2', 'run_t1'])
      expect((await store.getRun('run_t2'))?.tenant).toBe('team-b')
      // The tenant survives updates, and another connection reads it.
      await store.updateRun('run_t1', { status: 'running' })
      const other = await connect()
      expect(ids(await other.listRuns({ limit: 10, tenant: 'team-a', status: 'running' }))).toEqual([
        'run_t1',
      ])
      await store.createSession(newSession('ses_t1', { tenant: 'team-a' }), 'node_a')
      await store.createSession(newSession('ses_t2', { tenant: 'team-b' }), 'node_a')
      await store.createSession(newSession('ses_t3'), 'node_a')
      await store.updateSession('ses_t1', { status: 'running' })
      expect(ids(await store.listSessions({ limit: 10, tenant: 'team-a' }))).toEqual(['ses_t1'])
      expect(ids(await store.listSessions({ limit: 10, tenant: null }))).toEqual(['ses_t3'])
      expect(ids(await other.listSessions({ limit: 10, tenant: 'team-b' }))).toEqual(['ses_t2'])
      expect(await store.countSessions('team-a')).toEqual({ running: 1 })
      expect(await other.countSessions(null)).toEqual({ idle: 1 })
      expect(await store.countSessions('team-none')).toEqual({})
      expect(await other.countSessions()).toEqual({ idle: 2, running: 1 })
      expect((await store.getSession('ses_t1'))?.tenant).toBe('team-a')
      await store.createApproval(newApproval('apr_t1', 'ses_t1'))
      await store.createApproval(newApproval('apr_t2', 'ses_t2'))
      await store.createApproval(newApproval('apr_t3', 'ses_t3', { state: 'resolved' }))
      await store.createApproval(newApproval('apr_t4', 'ses_t1', { state: 'resolved' }))
      expect(ids(await store.listApprovals({ tenant: 'team-a' }))).toEqual(['apr_t4', 'apr_t1'])
      expect(ids(await store.listApprovals({ tenant: 'team-a', state: 'pending' }))).toEqual(['apr_t1'])
      expect(ids(await store.listApprovals({ tenant: 'team-a', limit: 1 }))).toEqual(['apr_t4'])
      expect(ids(await other.listApprovals({ tenant: 'team-b', sessionId: 'ses_t2' }))).toEqual(['apr_t2'])
      expect(ids(await store.listApprovals({ tenant: 'team-b', sessionId: 'ses_t1' }))).toEqual([])
      expect(ids(await store.listApprovals({ tenant: null }))).toEqual(['apr_t3'])
      expect(ids(await store.listApprovals({}))).toEqual(['apr_t4', 'apr_t3', 'apr_t2', 'apr_t1'])
    })

    it('turns: listed oldest first by status; completeTurn ends a turn and counts it atomically', async () => {
      const { store, connect } = await fresh()
      const other = await connect()
      await store.createSession(newSession('ses_1'), 'node_a')
      for (let i = 0; i < 10; i++) await store.createTurn(newTurn(`turn_${i}`, 'ses_1'))
      await store.updateTurn('turn_0', { status: 'running' })
      expect(ids(await store.listTurns('ses_1', 'running'))).toEqual(['turn_0'])
      expect(ids(await store.listTurns('ses_1')).slice(0, 3)).toEqual(['turn_0', 'turn_1', 'turn_2'])
      const done = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 ? store : other).completeTurn(
            `turn_${i}`,
            { status: 'completed', finalResponse: `r${i}`, finishedAt: `2026-01-01T00:00:0${i}.000Z` },
            `2026-01-01T00:00:0${i}.000Z`,
          ),
        ),
      )
      expect(done.every((t) => t?.turn.status === 'completed' && t.status === undefined)).toBe(true)
      expect(await store.getTurn('turn_3')).toMatchObject({ finalResponse: 'r3', sessionId: 'ses_1' })
      expect((await store.getSession('ses_1'))?.turnCount).toBe(10)
      expect(await store.completeTurn('turn_missing', { status: 'failed' }, 't')).toBeUndefined()
      // With a status, the session's new state is stored in the same step (document and its status column).
      await store.updateSession('ses_1', { status: 'running' })
      await store.createTurn(newTurn('turn_x', 'ses_1'))
      const last = await store.completeTurn(
        'turn_x',
        { status: 'completed' },
        '2026-01-01T00:01:00.000Z',
        'idle',
      )
      expect(last).toEqual({
        turn: expect.objectContaining({ id: 'turn_x', status: 'completed' }),
        status: 'idle',
      })
      expect(await store.getSession('ses_1')).toMatchObject({
        status: 'idle',
        turnCount: 11,
        updatedAt: '2026-01-01T00:01:00.000Z',
      })
      expect(ids(await store.listSessions({ status: 'idle', limit: 10 }))).toContain('ses_1')
    })

    it('createTurn with a session state: the turn and the state in one step, not over an archive, fenced by the claim', async () => {
      const { store, connect } = await fresh()
      const other = await connect()
      await store.createSession(newSession('ses_1'), 'node_a')
      const at = '2026-01-01T00:00:07.000Z'
      expect(await store.createTurn(newTurn('turn_0', 'ses_1'))).toBeUndefined()
      const step = await other.createTurn(newTurn('turn_1', 'ses_1', { status: 'running' }), firstClaim, {
        status: 'running',
        at,
      })
      expect(step).toEqual({
        turn: expect.objectContaining({ id: 'turn_1', status: 'running' }),
        status: 'running',
      })
      expect(await store.getSession('ses_1')).toMatchObject({ status: 'running', updatedAt: at })
      expect(ids(await store.listSessions({ status: 'running', limit: 5 }))).toEqual(['ses_1'])
      // archived meanwhile: the turn is stored, the state is not
      await setStateAlone(store, 'ses_1', { status: 'archived', at })
      const kept = await store.createTurn(newTurn('turn_2', 'ses_1'), undefined, { status: 'running', at })
      expect(kept?.status).toBeUndefined()
      expect(await store.getSession('ses_1')).toMatchObject({ status: 'archived' })
      // a stale claim: neither the turn nor the state
      await store.createSession(newSession('ses_2'), 'node_a')
      await store.claimSession('ses_2', 'node_b')
      await expect(
        other.createTurn(newTurn('turn_3', 'ses_2'), firstClaim, { status: 'running', at }),
      ).rejects.toBeInstanceOf(SessionTakenOver)
      expect(await store.getTurn('turn_3')).toBeUndefined()
      expect(await store.getSession('ses_2')).toMatchObject({ status: 'idle' })
    })

    it("completeTurnWithEvents: the turn's end, its session's state and the events for that step in one transaction, all or nothing", async () => {
      const { store, connect } = await fresh()
      const other = await connect()
      await store.createSession(newSession('ses_1', { status: 'running' }), 'node_a')
      await store.createTurn(newTurn('turn_1', 'ses_1', { status: 'running' }), firstClaim)
      await store.appendEvent('ses_1', { type: 'turn.started', turnId: 'turn_1' }, 't0')
      const at = '2026-01-01T00:01:00.000Z'
      const end: AgentEvent = { type: 'turn.completed', turnId: 'turn_1', status: 'completed', usage: null }
      const asked: unknown[] = []
      const done = await other.completeTurnWithEvents(
        'turn_1',
        { status: 'completed' },
        at,
        'idle',
        firstClaim,
        (step) => {
          asked.push(step?.status)
          const events: AgentEvent[] = [end]
          if (step?.status) events.push({ type: 'session.status', status: step.status })
          return events.map((event) => ({ ownerId: 'ses_1', event, at, fence: firstClaim }))
        },
      )
      // the events are asked for once the step knows which state it stored
      expect(asked).toEqual(['idle'])
      expect(done.step).toEqual({
        turn: expect.objectContaining({ id: 'turn_1', status: 'completed' }),
        status: 'idle',
      })
      expect(done.events.map((e) => [e.seq, e.type, e.at])).toEqual([
        [2, 'turn.completed', at],
        [3, 'session.status', at],
      ])
      expect((await store.eventsAfter('ses_1', 0, 10)).map((e) => e.seq)).toEqual([1, 2, 3])
      expect(await store.getSession('ses_1')).toMatchObject({ status: 'idle', turnCount: 1, lastSeq: 3 })
      // archived meanwhile: no state stored, the step says so, and the events are asked for with that
      await store.createTurn(newTurn('turn_2', 'ses_1', { status: 'running' }))
      await setStateAlone(store, 'ses_1', { status: 'archived', at })
      const archived = await store.completeTurnWithEvents(
        'turn_2',
        { status: 'interrupted' },
        at,
        'idle',
        undefined,
        (step) =>
          step?.status
            ? [{ ownerId: 'ses_1', event: { type: 'session.status', status: step.status }, at }]
            : [],
      )
      expect(archived).toEqual({
        step: { turn: expect.objectContaining({ status: 'interrupted' }), status: undefined },
        events: [],
      })
      expect(await store.getSession('ses_1')).toMatchObject({ status: 'archived', turnCount: 2 })
      // a stale claim: nothing stored, neither the turn's end nor an event; the seq goes on where it was
      await store.createTurn(newTurn('turn_3', 'ses_1', { status: 'running' }))
      const claimB = await store.claimSession('ses_1', 'node_b')
      const refused = other.completeTurnWithEvents(
        'turn_3',
        { status: 'completed' },
        at,
        'idle',
        firstClaim,
        () => [{ ownerId: 'ses_1', event: end, at, fence: firstClaim }],
      )
      await expect(refused).rejects.toBeInstanceOf(SessionTakenOver)
      // an event refused (its own fence stale) undoes the turn's end too
      const eventRefused = other.completeTurnWithEvents(
        'turn_3',
        { status: 'completed' },
        at,
        undefined,
        undefined,
        () => [{ ownerId: 'ses_1', event: end, at, fence: firstClaim }],
      )
      await expect(eventRefused).rejects.toBeInstanceOf(SessionTakenOver)
      expect(await store.getTurn('turn_3')).toMatchObject({ status: 'running' })
      expect(await store.getSession('ses_1')).toMatchObject({ turnCount: 2, lastSeq: 3 })
      const next = await other.appendEvent('ses_1', end, at, claimB)
      expect(next.seq).toBe(4)
    })

    it("completeTurnWithEvents with the state as a function: of the session's state read in the same transaction", async () => {
      const { store, connect } = await fresh()
      const other = await connect()
      await store.createSession(newSession('ses_1', { status: 'running' }), 'node_a')
      await store.createTurn(newTurn('turn_1', 'ses_1', { status: 'running' }))
      await store.createApproval(newApproval('apr_1', 'ses_1'))
      const at = '2026-01-01T00:01:00.000Z'
      const reads: unknown[] = []
      const settled = (read: SessionStateRead) => {
        reads.push(read)
        if (read.status === 'archived') return undefined
        const next = read.pendingApproval ? 'waiting_for_approval' : 'idle'
        return next === read.status ? undefined : next
      }
      const statusEvents = (step: TurnStep | undefined) =>
        step?.status
          ? [{ ownerId: 'ses_1', event: { type: 'session.status', status: step.status } as AgentEvent, at }]
          : []
      const done = await other.completeTurnWithEvents(
        'turn_1',
        { status: 'completed' },
        at,
        settled,
        undefined,
        statusEvents,
      )
      expect(reads).toEqual([{ status: 'running', pendingApproval: true, owner: 'node_a' }])
      expect(done.step?.status).toBe('waiting_for_approval')
      expect(done.events.map((e) => e.type === 'session.status' && e.status)).toEqual([
        'waiting_for_approval',
      ])
      expect(await store.getSession('ses_1')).toMatchObject({ status: 'waiting_for_approval', turnCount: 1 })
      // the function says "as it is": nothing stored for the state, no event
      await store.createTurn(newTurn('turn_2', 'ses_1', { status: 'running' }))
      const same = await other.completeTurnWithEvents(
        'turn_2',
        { status: 'completed' },
        at,
        settled,
        undefined,
        statusEvents,
      )
      expect(same).toEqual({
        step: { turn: expect.objectContaining({ id: 'turn_2' }), status: undefined },
        events: [],
      })
      expect(await store.getSession('ses_1')).toMatchObject({ status: 'waiting_for_approval', turnCount: 2 })
      // the approval answered and the session archived meanwhile: both seen by the read, archived stays
      await store.resolveApproval('apr_1', { decision: 'accept', by: 'client', resolvedAt: at })
      await store.createTurn(newTurn('turn_3', 'ses_1', { status: 'running' }))
      await setStateAlone(store, 'ses_1', { status: 'archived', at })
      const archived = await other.completeTurnWithEvents(
        'turn_3',
        { status: 'interrupted' },
        at,
        settled,
        undefined,
        statusEvents,
      )
      expect(reads.at(-1)).toEqual({ status: 'archived', pendingApproval: false, owner: 'node_a' })
      expect(archived.events).toEqual([])
      expect(await store.getSession('ses_1')).toMatchObject({ status: 'archived', turnCount: 3 })
      // no such turn: the function is not asked
      const asked = reads.length
      expect(
        (await other.completeTurnWithEvents('turn_x', {}, at, settled, undefined, statusEvents)).step,
      ).toBeUndefined()
      expect(reads).toHaveLength(asked)
    })

    it("createTurnWithEvents / updateTurnWithEvents with the state as a function: of the session's state read in the same transaction", async () => {
      const { store } = await fresh()
      await store.createSession(newSession('ses_1'), 'node_a')
      const at = '2026-01-01T00:01:00.000Z'
      const reads: SessionStateRead[] = []
      const running = (read: SessionStateRead) => {
        reads.push(read)
        if (read.status === 'archived') return undefined
        const next: Session['status'] = read.pendingApproval ? 'waiting_for_approval' : 'running'
        return next === read.status ? undefined : { status: next, at }
      }
      const created = await store.createTurnWithEvents(
        newTurn('turn_1', 'ses_1'),
        undefined,
        running,
        () => [],
      )
      expect(reads).toEqual([{ status: 'idle', pendingApproval: false, owner: 'node_a' }])
      expect(created.step?.status).toBe('running')
      expect(await store.getSession('ses_1')).toMatchObject({ status: 'running' })
      // nothing to change: no state stored, and createTurnWithEvents' step is undefined as without a state
      const same = await store.createTurnWithEvents(newTurn('turn_2', 'ses_1'), undefined, running, () => [])
      expect(same.step).toBeUndefined()
      await store.createApproval(newApproval('apr_1', 'ses_1'))
      const updated = await store.updateTurnWithEvents(
        'turn_1',
        { status: 'running' },
        running,
        undefined,
        () => [],
      )
      expect(reads.at(-1)).toMatchObject({ status: 'running', pendingApproval: true })
      expect(updated.step?.status).toBe('waiting_for_approval')
      expect(await store.getSession('ses_1')).toMatchObject({ status: 'waiting_for_approval' })
      const asked = reads.length
      expect(
        (await store.updateTurnWithEvents('turn_x', {}, running, undefined, () => [])).step,
      ).toBeUndefined()
      expect(reads).toHaveLength(asked)
    })

    it('createTurnWithEvents / updateTurnWithEvents: the turn step and the events for it in one transaction, all or nothing', async () => {
      const { store, connect } = await fresh()
      const other = await connect()
      await store.createSession(newSession('ses_1'), 'node_a')
      const at = '2026-01-01T00:01:00.000Z'
      const status = (s: Session['status']): AgentEvent => ({ type: 'session.status', status: s })
      const created = await other.createTurnWithEvents(
        newTurn('turn_1', 'ses_1', { status: 'running' }),
        firstClaim,
        { status: 'running', at },
        (step) =>
          step?.status ? [{ ownerId: 'ses_1', event: status(step.status), at, fence: firstClaim }] : [],
      )
      expect(created.step).toEqual({ turn: expect.objectContaining({ id: 'turn_1' }), status: 'running' })
      expect(created.events.map((e) => [e.seq, e.type])).toEqual([[1, 'session.status']])
      expect(await store.getSession('ses_1')).toMatchObject({ status: 'running', lastSeq: 1 })
      const started: AgentEvent = { type: 'turn.started', turnId: 'turn_1' }
      const updated = await other.updateTurnWithEvents(
        'turn_1',
        { agentTurnId: 'a1' },
        undefined,
        firstClaim,
        (step) => [{ ownerId: step.turn.sessionId, event: started, at, fence: firstClaim }],
      )
      expect(updated.step).toEqual({
        turn: expect.objectContaining({ agentTurnId: 'a1' }),
        status: undefined,
      })
      expect(updated.events.map((e) => [e.seq, e.type])).toEqual([[2, 'turn.started']])
      // an unknown turn: nothing stored, no event asked for
      const unknown = await store.updateTurnWithEvents(
        'turn_missing',
        { agentTurnId: 'x' },
        undefined,
        undefined,
        () => {
          throw new Error('not asked')
        },
      )
      expect(unknown).toEqual({ step: undefined, events: [] })
      // another node took the session over: neither the turn's write nor its event is stored
      const claimB = await store.claimSession('ses_1', 'node_b')
      await expect(
        other.updateTurnWithEvents('turn_1', { agentTurnId: 'a2' }, undefined, firstClaim, () => [
          { ownerId: 'ses_1', event: started, at, fence: firstClaim },
        ]),
      ).rejects.toBeInstanceOf(SessionTakenOver)
      await expect(
        other.createTurnWithEvents(newTurn('turn_2', 'ses_1'), firstClaim, undefined, () => [
          { ownerId: 'ses_1', event: started, at, fence: firstClaim },
        ]),
      ).rejects.toBeInstanceOf(SessionTakenOver)
      // an event refused (its own fence stale) undoes the turn's write too
      await expect(
        other.updateTurnWithEvents('turn_1', { agentTurnId: 'a3' }, undefined, undefined, () => [
          { ownerId: 'ses_1', event: started, at, fence: firstClaim },
        ]),
      ).rejects.toBeInstanceOf(SessionTakenOver)
      expect(await store.getTurn('turn_1')).toMatchObject({ agentTurnId: 'a1' })
      expect(await store.getTurn('turn_2')).toBeUndefined()
      expect(await store.getSession('ses_1')).toMatchObject({ lastSeq: 2 })
      expect((await other.appendEvent('ses_1', started, at, claimB)).seq).toBe(3)
    })

    it("sessionState reads a session's state and pending approvals; updateTurn stores a new state with the turn", async () => {
      const { store, connect } = await fresh()
      const other = await connect()
      expect(await store.sessionState('ses_missing')).toBeUndefined()
      await store.createSession(newSession('ses_1'), 'node_a')
      await store.createSession(newSession('ses_2'), 'node_a')
      // the owner comes with the state (what ownerOf reads), in the same read
      expect(await store.sessionState('ses_1')).toEqual({
        status: 'idle',
        pendingApproval: false,
        owner: 'node_a',
      })
      // only a pending approval of this session counts
      await store.createApproval(newApproval('apr_1', 'ses_2'))
      await store.createApproval(newApproval('apr_2', 'ses_1', { state: 'resolved', decision: 'accept' }))
      expect(await other.sessionState('ses_1')).toMatchObject({ status: 'idle', pendingApproval: false })
      expect(await other.sessionState('ses_2')).toMatchObject({ status: 'idle', pendingApproval: true })
      await store.createApproval(newApproval('apr_3', 'ses_1'))
      expect(await other.sessionState('ses_1')).toMatchObject({ status: 'idle', pendingApproval: true })
      await store.resolveApproval('apr_3', { decision: 'decline', by: 'client', resolvedAt: 't' })
      expect(await other.sessionState('ses_1')).toMatchObject({ status: 'idle', pendingApproval: false })

      await store.createTurn(newTurn('turn_1', 'ses_1'))
      const running = await store.updateTurn(
        'turn_1',
        { status: 'running', startedAt: '2026-01-01T00:02:00.000Z' },
        { status: 'running', at: '2026-01-01T00:02:00.000Z' },
      )
      expect(running).toEqual({
        turn: expect.objectContaining({ id: 'turn_1', status: 'running', sessionId: 'ses_1' }),
        status: 'running',
      })
      expect(await other.getTurn('turn_1')).toMatchObject({
        status: 'running',
        startedAt: '2026-01-01T00:02:00.000Z',
      })
      // the document and its status column, nothing else of the session changed
      expect(await other.getSession('ses_1')).toEqual({
        ...newSession('ses_1'),
        status: 'running',
        updatedAt: '2026-01-01T00:02:00.000Z',
      })
      expect(ids(await other.listSessions({ status: 'running', limit: 10 }))).toEqual(['ses_1'])
      expect(await other.sessionState('ses_1')).toMatchObject({ status: 'running', pendingApproval: false })
      // without a session change, only the turn
      expect((await store.updateTurn('turn_1', { agentTurnId: 'agent-1' }))?.status).toBeUndefined()
      expect(await other.getTurn('turn_1')).toMatchObject({ agentTurnId: 'agent-1', status: 'running' })
      expect((await other.getSession('ses_1'))?.updatedAt).toBe('2026-01-01T00:02:00.000Z')
      expect(
        await store.updateTurn('turn_missing', { status: 'running' }, { status: 'running', at: 't' }),
      ).toBeUndefined()
      expect((await other.getSession('ses_1'))?.status).toBe('running')
    })

    it("a new state stored alone stores its document fields in the same step: both or neither (an archive's agentArchiveError)", async () => {
      const { store, connect } = await fresh()
      const other = await connect()
      for (const id of ['ses_1', 'ses_2', 'ses_3']) await store.createSession(newSession(id), 'node_a')
      await store.createSession(newSession('ses_4', { externalId: 'ext-taken' }), 'node_a')
      const at = '2026-01-01T00:01:00.000Z'
      const gone = { agentArchiveError: 'thread/archive failed' }
      // with the owner's claim: the state and the field, seen by another connection; a mirrored field's column too
      expect(
        await setStateAlone(
          store,
          'ses_1',
          { status: 'archived', at, fields: { ...gone, externalId: 'ext-1' } },
          firstClaim,
        ),
      ).toBe(true)
      expect(await other.getSession('ses_1')).toMatchObject({
        status: 'archived',
        updatedAt: at,
        ...gone,
        externalId: 'ext-1',
      })
      expect(ids(await other.listSessions({ status: 'archived', limit: 10 }))).toEqual(['ses_1'])
      expect((await other.findSessionByExternalId('ext-1'))?.id).toBe('ses_1')
      // archived already: neither the state nor the fields
      const later = {
        status: 'archived' as const,
        at: '2026-01-01T00:02:00.000Z',
        fields: { agentArchiveError: 'x' },
      }
      expect(await setStateAlone(other, 'ses_1', later)).toBe(false)
      expect(await store.getSession('ses_1')).toMatchObject({ updatedAt: at, ...gone })
      // without a claim
      expect(await setStateAlone(other, 'ses_2', { status: 'archived', at, fields: gone })).toBe(true)
      expect(await store.getSession('ses_2')).toMatchObject({ status: 'archived', ...gone })
      // a field the store refuses (another session's external id): the state is not stored either, with a claim
      // or without
      const refused = { status: 'archived' as const, at, fields: { ...gone, externalId: 'ext-taken' } }
      await expect(setStateAlone(store, 'ses_3', refused, firstClaim)).rejects.toThrow()
      await expect(setStateAlone(store, 'ses_3', refused)).rejects.toThrow()
      expect(await other.getSession('ses_3')).toMatchObject({
        status: 'idle',
        updatedAt: newSession('x').updatedAt,
      })
      expect(await other.getSession('ses_3')).not.toHaveProperty('agentArchiveError')
      expect(await other.sessionState('ses_3')).toMatchObject({ status: 'idle' })
      // a stale claim: neither
      await other.claimSession('ses_3', 'node_b')
      await expect(
        setStateAlone(store, 'ses_3', { status: 'archived', at, fields: gone }, firstClaim),
      ).rejects.toBeInstanceOf(SessionTakenOver)
      expect(await other.getSession('ses_3')).toMatchObject({ status: 'idle' })
      expect(await other.getSession('ses_3')).not.toHaveProperty('agentArchiveError')
    })

    it('setSessionStateWithEvents: a new state (an archive with its fields) and its session.status in one transaction, all or nothing', async () => {
      const { store, connect } = await fresh()
      const other = await connect()
      for (const id of ['ses_1', 'ses_2']) await store.createSession(newSession(id), 'node_a')
      await store.createSession(newSession('ses_3', { externalId: 'ext-taken' }), 'node_a')
      await store.appendEvent('ses_1', { type: 'turn.started', turnId: 'turn_1' }, 't0')
      const at = '2026-01-01T00:01:00.000Z'
      const gone = { agentArchiveError: 'thread/archive failed' }
      const archived: AgentEvent = { type: 'session.status', status: 'archived', ...gone }
      const asked: boolean[] = []
      const announce = (id: string, fence?: number) => (stored: boolean) => {
        asked.push(stored)
        return stored ? [{ ownerId: id, event: archived, at, fence }] : []
      }
      const change = { status: 'archived' as const, at, fields: gone }
      // with the owner's claim: the state, its fields and the event, seen by another connection
      const done = await other.setSessionStateWithEvents(
        'ses_1',
        change,
        firstClaim,
        announce('ses_1', firstClaim),
      )
      expect(done.stored).toBe(true)
      expect(done.events.map((e) => [e.seq, e.type, e.at])).toEqual([[2, 'session.status', at]])
      expect(await store.getSession('ses_1')).toMatchObject({ status: 'archived', ...gone, lastSeq: 2 })
      expect((await store.eventsAfter('ses_1', 0, 10)).at(-1)).toMatchObject({ seq: 2, ...archived })
      // archived already: nothing stored, and the events are asked for with that
      const later = { ...change, at: '2026-01-01T00:02:00.000Z', fields: { agentArchiveError: 'x' } }
      expect(await store.setSessionStateWithEvents('ses_1', later, undefined, announce('ses_1'))).toEqual({
        stored: false,
        events: [],
      })
      expect(asked).toEqual([true, false])
      expect(await other.getSession('ses_1')).toMatchObject({ updatedAt: at, ...gone, lastSeq: 2 })
      // an event refused (its own fence stale; an unknown owner) undoes the state and its fields
      const claimB = await store.claimSession('ses_2', 'node_b')
      await expect(
        other.setSessionStateWithEvents('ses_2', change, undefined, announce('ses_2', firstClaim)),
      ).rejects.toBeInstanceOf(SessionTakenOver)
      await expect(
        other.setSessionStateWithEvents('ses_2', change, undefined, () => [
          { ownerId: 'ses_2', event: archived, at },
          { ownerId: 'ses_none', event: archived, at },
        ]),
      ).rejects.toThrow(/unknown session/)
      // the state's own claim stale: neither
      await expect(
        other.setSessionStateWithEvents('ses_2', change, firstClaim, announce('ses_2')),
      ).rejects.toBeInstanceOf(SessionTakenOver)
      expect(await store.getSession('ses_2')).toMatchObject({ status: 'idle', lastSeq: 0 })
      expect(await store.getSession('ses_2')).not.toHaveProperty('agentArchiveError')
      expect(await store.eventsAfter('ses_2', 0, 10)).toEqual([])
      // the seqs of what was rolled back were never taken
      expect((await other.appendEvent('ses_2', archived, at, claimB)).seq).toBe(1)
      // a field the store refuses (another session's external id): no event either
      await store.createSession(newSession('ses_4'), 'node_a')
      await expect(
        other.setSessionStateWithEvents(
          'ses_4',
          { ...change, fields: { ...gone, externalId: 'ext-taken' } },
          undefined,
          announce('ses_4'),
        ),
      ).rejects.toThrow()
      expect(await store.getSession('ses_4')).toMatchObject({ status: 'idle', lastSeq: 0 })
      expect(await store.eventsAfter('ses_4', 0, 10)).toEqual([])
    })

    it("a turn's start or end, or a new state, does not write over an archive that landed after the state was read, and says so", async () => {
      const { store, connect } = await fresh()
      const other = await connect()
      await store.createSession(newSession('ses_1'), 'node_a')
      await store.createTurn(newTurn('turn_1', 'ses_1'))
      await store.createTurn(newTurn('turn_2', 'ses_1'))
      // a turn starts: the state was read (idle -> running), then another connection archives the session
      expect(await store.sessionState('ses_1')).toMatchObject({ status: 'idle', pendingApproval: false })
      await other.updateSession('ses_1', { status: 'archived', updatedAt: '2026-01-01T00:03:00.000Z' })
      // the step reports no state stored: nothing to announce after `archived`
      expect(
        await store.updateTurn(
          'turn_1',
          { status: 'running' },
          { status: 'running', at: '2026-01-01T00:04:00.000Z' },
        ),
      ).toEqual({ turn: expect.objectContaining({ status: 'running' }), status: undefined })
      expect(await other.getSession('ses_1')).toMatchObject({ status: 'archived', turnCount: 0 })
      expect(await other.sessionState('ses_1')).toMatchObject({ status: 'archived', pendingApproval: false })
      // the turn ends, its next state computed before the archive: counted, still archived
      expect(
        await store.completeTurn('turn_1', { status: 'interrupted' }, '2026-01-01T00:05:00.000Z', 'idle'),
      ).toEqual({ turn: expect.objectContaining({ status: 'interrupted' }), status: undefined })
      expect(await other.getSession('ses_1')).toMatchObject({
        status: 'archived',
        turnCount: 1,
        updatedAt: '2026-01-01T00:05:00.000Z',
      })
      await store.completeTurn('turn_2', { status: 'failed' }, '2026-01-01T00:06:00.000Z')
      expect(await other.getSession('ses_1')).toMatchObject({ status: 'archived', turnCount: 2 })
      expect(ids(await other.listSessions({ status: 'archived', limit: 10 }))).toEqual(['ses_1'])
      expect(await other.listSessions({ status: 'idle', limit: 10 })).toEqual([])
      // a state computed before the archive (an approval answered, a session recovered): kept archived, false
      expect(await setStateAlone(store, 'ses_1', { status: 'idle', at: '2026-01-01T00:07:00.000Z' })).toBe(
        false,
      )
      expect(await other.getSession('ses_1')).toMatchObject({ status: 'archived', turnCount: 2 })
      await store.createSession(newSession('ses_2'), 'node_a')
      const at = '2026-01-01T00:08:00.000Z'
      expect(await setStateAlone(store, 'ses_2', { status: 'waiting_for_approval', at })).toBe(true)
      expect(await other.getSession('ses_2')).toMatchObject({ status: 'waiting_for_approval', updatedAt: at })
      expect(ids(await other.listSessions({ status: 'waiting_for_approval', limit: 10 }))).toEqual(['ses_2'])
      expect(await setStateAlone(store, 'ses_2', { status: 'archived', at })).toBe(true)
      expect(await setStateAlone(other, 'ses_2', { status: 'archived', at })).toBe(false)
      expect(await setStateAlone(store, 'ses_missing', { status: 'idle', at })).toBe(false)
    })

    it('approvals: the first answer wins across connections; later ones change nothing', async () => {
      const { store, connect } = await fresh()
      const other = await connect()
      await store.createSession(newSession('ses_1'), 'node_a')
      await store.createApproval(newApproval('apr_1', 'ses_1'))
      await store.createApproval(newApproval('apr_2', 'ses_1'))
      expect(ids(await store.listApprovals({ state: 'pending' }))).toEqual(['apr_2', 'apr_1'])
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 ? store : other).resolveApproval('apr_1', {
            decision: i % 2 ? 'accept' : 'decline',
            by: `client_${i}`,
            resolvedAt: 't',
          }),
        ),
      )
      const winners = answers.filter((a): a is Approval => a !== undefined)
      expect(winners).toHaveLength(1)
      expect(await store.getApproval('apr_1')).toMatchObject({
        state: 'resolved',
        decision: winners[0]!.decision,
        by: winners[0]!.by,
      })
      expect(
        await store.resolveApproval('apr_missing', { decision: 'accept', by: 'c', resolvedAt: 't' }),
      ).toBeUndefined()
      expect(ids(await store.listApprovals({ state: 'pending', sessionId: 'ses_1' }))).toEqual(['apr_2'])
      expect(ids(await store.listApprovals({ state: 'resolved' }))).toEqual(['apr_1'])
      expect(await store.updateApproval('apr_2', { reason: 'why' })).toMatchObject({ reason: 'why' })
    })

    it('only members take work: a node removed or marked lost admits, claims and creates nothing (NotAMember) until it registers again', async () => {
      const { store, connect } = await fresh(['node_a', 'node_b', 'node_c'])
      const other = await connect()
      for (const id of ['run_1', 'run_2', 'run_3']) await store.admitRun(newRun(id), null, 100)
      await store.createSession(newSession('ses_1'), 'node_b')
      expect((await store.claimRun('run_1', 'node_a'))?.id).toBe('run_1')
      // never registered
      await expect(store.claimRun('run_2', 'node_z')).rejects.toBeInstanceOf(NotAMember)
      await expect(store.createSession(newSession('ses_z'), 'node_z')).rejects.toBeInstanceOf(NotAMember)
      // marked lost (found dead by another node, before it takes the node's work over): still registered, its
      // heartbeat true but no longer recorded, and it takes no work, on any connection
      expect(await other.markNodesLost(['node_a', 'node_c'], '2026-01-01T00:00:09.000Z')).toEqual([
        'node_a',
        'node_c',
      ])
      // marked already (a retry, or another node that found them too): not marked again, so counted once
      expect(await store.markNodesLost(['node_c', 'node_a'], '2026-01-01T00:00:10.000Z')).toEqual([])
      await expect(store.claimRun('run_2', 'node_a')).rejects.toBeInstanceOf(NotAMember)
      await expect(other.claimNextRun('node_a')).rejects.toBeInstanceOf(NotAMember)
      await expect(store.claimSession('ses_1', 'node_a')).rejects.toBeInstanceOf(NotAMember)
      await expect(store.admitRun(newRun('run_4'), 'node_a', 100)).rejects.toBeInstanceOf(NotAMember)
      await expect(other.createSession(newSession('ses_2'), 'node_a')).rejects.toBeInstanceOf(NotAMember)
      expect(await store.heartbeat('node_a', '2026-01-01T00:00:10.000Z')).toBe(true)
      expect(await store.listNodes()).toEqual([
        nodeRecord('node_a'),
        nodeRecord('node_b'),
        nodeRecord('node_c'),
      ])
      // nothing of that was stored; another node still takes the work
      expect(await store.getRun('run_4')).toBeUndefined()
      expect(await store.getSession('ses_2')).toBeUndefined()
      expect(await store.getSession('ses_z')).toBeUndefined()
      expect(await store.ownerOf('run_2')).toBeNull()
      expect(await store.ownerOf('ses_1')).toBe('node_b')
      expect((await other.claimNextRun('node_b'))?.id).toBe('run_2')
      // removed (after the takeover): still nothing
      await store.removeNode('node_a')
      expect(await store.heartbeat('node_a', '2026-01-01T00:00:11.000Z')).toBe(false)
      await expect(store.claimRun('run_3', 'node_a')).rejects.toBeInstanceOf(NotAMember)
      // registered again (its fence done): a member
      await store.registerNode(nodeRecord('node_a', '2026-01-01T00:00:12.000Z'))
      expect((await store.claimRun('run_3', 'node_a'))?.id).toBe('run_3')
      await store.claimSession('ses_1', 'node_a')
      expect(await store.ownerOf('ses_1')).toBe('node_a')
      expect(await store.admitRun(newRun('run_4'), 'node_a', 100)).toEqual([])
      await store.createSession(newSession('ses_2'), 'node_a')
      expect(await store.ownerOf('ses_2')).toBe('node_a')
      // node_c, marked but not removed, stays out; registering it again makes it a member again
      await expect(store.claimSession('ses_1', 'node_c')).rejects.toBeInstanceOf(NotAMember)
      await store.registerNode(nodeRecord('node_c'))
      await store.claimSession('ses_1', 'node_c')
      expect(await store.ownerOf('ses_1')).toBe('node_c')
    })

    it('a node marked lost: a claim committed before the mark is taken over, one after it is refused', async () => {
      const { store, connect } = await fresh()
      const other = await connect()
      for (const id of ['run_1', 'run_2']) await store.admitRun(newRun(id), null, 100)
      expect((await other.claimNextRun('node_a'))?.id).toBe('run_1')
      await store.markNodesLost(['node_a'], '2026-01-01T00:00:09.000Z')
      await expect(other.claimNextRun('node_a')).rejects.toBeInstanceOf(NotAMember)
      expect(ids(await store.takeOverRuns(['node_a'], 'node_b'))).toEqual(['run_1'])
      expect(await store.ownerOf('run_2')).toBeNull()
      expect(await store.ownersInUse()).toEqual(['node_b'])
    })

    it('a node marked lost while it claims: whatever it claimed is taken over, it claims nothing after', async () => {
      const { store, connect } = await fresh()
      const other = await connect()
      for (let i = 0; i < 40; i++)
        await store.admitRun(newRun(`run_${String(i).padStart(2, '0')}`), null, 100)
      // node_a claims from one connection while node_b, on another, marks it lost and takes its runs over. How
      // many claims come before the mark depends on timing (all, none, some): what holds in every order is checked.
      const claimedByA: string[] = []
      const race = await raceTakeover(
        40,
        async () => {
          const run = await other.claimNextRun('node_a')
          if (run) claimedByA.push(run.id)
          return run
        },
        NotAMember,
        async (marked) => {
          await store.claimNextRun('node_b')
          await store.markNodesLost(['node_a'], '2026-01-01T00:00:09.000Z')
          marked()
          return store.takeOverRuns(['node_a'], 'node_b')
        },
      )
      const taken = race.taken
      // a claim that began once the mark was committed was refused
      expect(race.afterTheTakeover).toEqual([])
      // every claim that succeeded was committed before the mark (a claim in progress ends first): the takeover
      // that follows the mark found each one; none landed between the mark and the takeover
      expect(ids(taken).sort()).toEqual(claimedByA.sort())
      const owners = await Promise.all(taken.map((r) => store.ownerOf(r.id)))
      expect(owners.every((o) => o === 'node_b')).toBe(true)
      expect(await store.ownersInUse()).toEqual(['node_b'])
    })

    it('session claims: bumped by every claim and takeover; a write with a stale claim stores nothing (SessionTakenOver)', async () => {
      const { store, connect } = await fresh()
      const other = await connect()
      await store.createSession(newSession('ses_1'), 'node_a')
      const at = '2026-01-01T00:00:05.000Z'
      // node_a holds the first claim: its writes go through, from any connection
      await other.createTurn(newTurn('trn_1', 'ses_1'), firstClaim)
      expect(
        (await other.updateTurn('trn_1', { status: 'running' }, { status: 'running', at }, firstClaim))
          ?.status,
      ).toBe('running')
      // node_b reopens the session: a new claim, node_a's is stale
      const claimB = await store.claimSession('ses_1', 'node_b')
      expect(claimB).toBeGreaterThan(firstClaim)
      const refused = other.completeTurn('trn_1', { status: 'completed' }, at, 'idle', firstClaim)
      await expect(refused).rejects.toBeInstanceOf(SessionTakenOver)
      await expect(refused).rejects.toMatchObject({ sessionId: 'ses_1', owner: 'node_b', status: 503 })
      await expect(setStateAlone(other, 'ses_1', { status: 'idle', at }, firstClaim)).rejects.toBeInstanceOf(
        SessionTakenOver,
      )
      await expect(other.createTurn(newTurn('trn_2', 'ses_1'), firstClaim)).rejects.toBeInstanceOf(
        SessionTakenOver,
      )
      await expect(
        other.updateTurn('trn_1', { status: 'failed' }, undefined, firstClaim),
      ).rejects.toBeInstanceOf(SessionTakenOver)
      // nothing of node_a's refused writes was stored
      expect(await store.getTurn('trn_2')).toBeUndefined()
      expect(await store.getTurn('trn_1')).toMatchObject({ status: 'running' })
      expect(await store.getSession('ses_1')).toMatchObject({ status: 'running', turnCount: 0 })
      // node_b's claim holds until node_a takes node_b's sessions over
      expect((await store.completeTurn('trn_1', { status: 'completed' }, at, 'idle', claimB))?.status).toBe(
        'idle',
      )
      expect(ids(await other.takeOverSessions(['node_b'], 'node_a'))).toEqual(['ses_1'])
      await expect(setStateAlone(store, 'ses_1', { status: 'running', at }, claimB)).rejects.toBeInstanceOf(
        SessionTakenOver,
      )
      // writes without a claim (recovery, other nodes' state refreshes) are not fenced
      expect(await setStateAlone(store, 'ses_1', { status: 'idle', at })).toBe(true)
      expect(await store.getSession('ses_1')).toMatchObject({ status: 'idle', turnCount: 1 })
    })

    it('session claims: a takeover racing a node that writes: every write committed before it counts, none lands after it', async () => {
      const { store, connect } = await fresh()
      const other = await connect()
      await store.createSession(newSession('ses_1'), 'node_a')
      const turns = Array.from({ length: 30 }, (_, i) => `trn_${String(i).padStart(2, '0')}`)
      for (const id of turns) await store.createTurn(newTurn(id, 'ses_1'), firstClaim)
      const race = await raceTakeover(
        turns.length,
        (i) =>
          other.completeTurn(
            turns[i]!,
            { status: 'completed' },
            '2026-01-01T00:00:05.000Z',
            'idle',
            firstClaim,
          ),
        SessionTakenOver,
        async (committed) => {
          await store.getTurn(turns[0]!)
          const taken = await store.takeOverSessions(['node_a'], 'node_b')
          committed()
          return taken
        },
      )
      expect(ids(race.taken)).toEqual(['ses_1'])
      expect(race.afterTheTakeover).toEqual([])
      const completed = race.stored.map((i) => turns[i]!)
      // each write is one step with its check: the session counts exactly the turns whose end was stored
      expect((await store.getSession('ses_1'))?.turnCount).toBe(completed.length)
      const stillQueued = (await store.listTurns('ses_1', 'queued')).map((t) => t.id)
      expect([...completed, ...stillQueued].sort()).toEqual(turns)
    })

    it("session claims: a session's events appended with a stale claim are refused, alone or in a batch, and nothing of the batch is stored", async () => {
      const { store, connect } = await fresh()
      const other = await connect()
      await store.createSession(newSession('ses_1'), 'node_a')
      await store.createSession(newSession('ses_2'), 'node_a')
      await store.createRun(newRun('run_1'))
      const ev = (text: string): AgentEvent => ({
        type: 'item.completed',
        item: { id: text, type: 'agent_message', text },
      })
      const at = '2026-01-01T00:00:05.000Z'
      // node_a holds the first claim: its events go through, alone and in a batch
      expect((await other.appendEvent('ses_1', ev('a1'), at, firstClaim)).seq).toBe(1)
      expect(
        (await other.appendEvents([{ ownerId: 'ses_1', event: ev('a2'), at, fence: firstClaim }])).map(
          (e) => e.seq,
        ),
      ).toEqual([2])
      const claimB = await store.claimSession('ses_1', 'node_b')
      // node_a's claim is stale now: its events are refused, with the session's owner
      const alone = other.appendEvent('ses_1', ev('late'), at, firstClaim)
      await expect(alone).rejects.toBeInstanceOf(SessionTakenOver)
      await expect(alone).rejects.toMatchObject({ sessionId: 'ses_1', owner: 'node_b', status: 503 })
      // a batch with one stale event stores none of its events (other owners' neither)
      await expect(
        other.appendEvents([
          { ownerId: 'run_1', event: ev('r1'), at },
          { ownerId: 'ses_2', event: ev('s1'), at, fence: firstClaim },
          { ownerId: 'ses_1', event: ev('late'), at, fence: firstClaim },
        ]),
      ).rejects.toBeInstanceOf(SessionTakenOver)
      expect(await store.eventsAfter('run_1', 0, 10)).toEqual([])
      expect(await store.eventsAfter('ses_2', 0, 10)).toEqual([])
      // the new claim's events (and events without a claim) go on with the next seq, no gap
      expect((await store.appendEvent('ses_1', ev('b1'), at, claimB)).seq).toBe(3)
      expect((await other.appendEvent('ses_1', ev('unfenced'), at)).seq).toBe(4)
      const texts = (await store.eventsAfter('ses_1', 0, 10)).map((e) =>
        e.type === 'item.completed' && e.item.type === 'agent_message' ? e.item.text : e.type,
      )
      expect(texts).toEqual(['a1', 'a2', 'b1', 'unfenced'])
      // an unknown session is still an unknown owner, claim or not
      await expect(store.appendEvent('ses_none', ev('x'), at, firstClaim)).rejects.toThrow(/unknown session/)
    })

    it("session claims: a takeover racing a node that appends its session's events: none lands after it", async () => {
      const { store, connect } = await fresh()
      const other = await connect()
      await store.createSession(newSession('ses_1'), 'node_a')
      const { stored, afterTheTakeover, taken } = await raceTakeover(
        40,
        (i) => other.appendEvents(outputBatch('ses_1', i, firstClaim)),
        SessionTakenOver,
        async (committed) => {
          await store.eventsAfter('ses_1', 0, 1)
          const sessions = await store.takeOverSessions(['node_a'], 'node_b')
          committed()
          return sessions
        },
      )
      expect(ids(taken)).toEqual(['ses_1'])
      expect(afterTheTakeover).toEqual([])
      // whole batches only: the events stored are exactly those of the batches that were not refused
      expect((await store.eventsAfter('ses_1', 0, 1000)).length).toBe(stored.length * 2)
    })

    it("a run's writes by the node that executes it: stored while it owns the run, refused (false, nothing stored) once another node took it over", async () => {
      const { store, connect } = await fresh(['node_a', 'node_b'])
      const other = await connect()
      await store.admitRun(newRun('run_1'), 'node_a', 10)
      expect(await other.updateRun('run_1', { status: 'running' }, 'node_a')).toBe(true)
      expect(ids(await store.takeOverRuns(['node_a'], 'node_b'))).toEqual(['run_1'])
      await store.updateRun('run_1', { status: 'interrupted', reason: 'worker_lost' })
      // node_a wakes and records the run's end: refused in the write's own step
      expect(await other.updateRun('run_1', { status: 'succeeded', finalResponse: 'late' }, 'node_a')).toBe(
        false,
      )
      expect(await store.getRun('run_1')).toMatchObject({ status: 'interrupted', finalResponse: null })
      // the owner's writes, and writes without an owner, still go through; an unknown run stores nothing
      expect(await store.updateRun('run_1', { finalResponse: 'b' }, 'node_b')).toBe(true)
      expect(await store.updateRun('run_none', { finalResponse: 'x' })).toBe(false)
    })

    it('a run made running with its run.started in one step: both or neither, refused (nothing stored) once another node took it over', async () => {
      const { store, connect } = await fresh(['node_a', 'node_b'])
      const other = await connect()
      await store.admitRun(newRun('run_1'), 'node_a', 10)
      await store.admitRun(newRun('run_2'), 'node_a', 10)
      const at = '2026-01-01T00:00:05.000Z'
      const started = (runId: string, fence?: string) => [
        { ownerId: runId, event: { type: 'run.started', pid: 42 } as AgentEvent, at, fence },
      ]
      const running = { status: 'running' as const, startedAt: at, pid: 42 }
      // the owner: the run is running and its start stored
      const first = await other.updateRunWithEvents('run_1', running, 'node_a', started('run_1', 'node_a'))
      expect(first.updated).toBe(true)
      expect(first.events.map((e) => [e.type, e.seq])).toEqual([['run.started', 1]])
      expect(await store.getRun('run_1')).toMatchObject({ status: 'running', pid: 42, lastSeq: 1 })
      // another node took run_2 over: neither its state nor its event is stored
      expect(ids(await store.takeOverRuns(['node_a'], 'node_b'))).toEqual(['run_1', 'run_2'])
      const late = await other.updateRunWithEvents('run_2', running, 'node_a', started('run_2', 'node_a'))
      expect(late).toEqual({ updated: false, events: [] })
      expect(await store.getRun('run_2')).toMatchObject({ status: 'queued', pid: null })
      expect(await store.eventsAfter('run_2', 0, 10)).toEqual([])
      // an event the store refuses takes the update with it (one transaction): a stale fence on the event alone
      await expect(
        store.updateRunWithEvents('run_2', running, 'node_b', started('run_2', 'node_a')),
      ).rejects.toBeInstanceOf(RunTakenOver)
      expect(await store.getRun('run_2')).toMatchObject({ status: 'queued', pid: null })
      expect(await store.eventsAfter('run_2', 0, 10)).toEqual([])
      // without an owner (one node): stored unchecked; an unknown run stores nothing
      expect((await store.updateRunWithEvents('run_2', running, undefined, started('run_2'))).updated).toBe(
        true,
      )
      expect((await store.eventsAfter('run_2', 0, 10)).map((e) => e.type)).toEqual(['run.started'])
      expect(await store.updateRunWithEvents('run_none', running, undefined, [])).toEqual({
        updated: false,
        events: [],
      })
    })

    it("a run's end racing a takeover of its node: each run is either ended by its node or taken over, never both", async () => {
      const { store, connect } = await fresh(['node_a', 'node_b'])
      const other = await connect()
      const runs = Array.from({ length: 20 }, (_, i) => `run_${String(i).padStart(2, '0')}`)
      for (const id of runs) {
        await store.admitRun(newRun(id), 'node_a', 100)
        await store.updateRun(id, { status: 'running' })
      }
      // a write refused by the fence answers false (no error to catch)
      const race = await raceTakeover(
        runs.length,
        (i) => other.updateRun(runs[i]!, { status: 'succeeded', finishedAt: 't' }, 'node_a'),
        RunTakenOver,
        async (committed) => {
          await store.getRun(runs[0]!)
          const taken = await store.takeOverRuns(['node_a'], 'node_b')
          committed()
          return ids(taken)
        },
      )
      const { taken } = race
      const ended = race.stored.map((i) => runs[i]!)
      expect(race.afterTheTakeover).toEqual([])
      expect(taken.filter((id) => ended.includes(id))).toEqual([])
      expect([...ended, ...taken].sort()).toEqual(runs)
      for (const id of taken) expect((await store.getRun(id))?.status).toBe('running')
    })

    it("a run's events appended by the node that executes it: stored while it owns the run, refused (RunTakenOver) once another node took it over, alone or in a batch, nothing of the batch stored", async () => {
      const { store, connect } = await fresh(['node_a', 'node_b'])
      const other = await connect()
      await store.admitRun(newRun('run_1'), 'node_a', 10)
      await store.admitRun(newRun('run_2'), 'node_a', 10)
      await store.createSession(newSession('ses_1'), 'node_a')
      const out = (data: string): AgentEvent => ({ type: 'output', stream: 'stdout', data })
      const at = '2026-01-01T00:00:05.000Z'
      // node_a owns the run: its events go through, alone and in a batch, from any connection
      expect((await other.appendEvent('run_1', out('a1'), at, 'node_a')).seq).toBe(1)
      expect(
        (await other.appendEvents([{ ownerId: 'run_1', event: out('a2'), at, fence: 'node_a' }])).map(
          (e) => e.seq,
        ),
      ).toEqual([2])
      // node_b takes node_a's runs over and records run_1's end
      expect(ids(await store.takeOverRuns(['node_a'], 'node_b'))).toEqual(['run_1', 'run_2'])
      await store.updateRun('run_1', { status: 'interrupted', reason: 'worker_lost' }, 'node_b')
      const end: AgentEvent = { type: 'run.completed', ...interruptedEnd }
      expect((await store.appendEvent('run_1', end, at, 'node_b')).seq).toBe(3)
      // node_a wakes: its events are refused, with the run's owner now
      const late = other.appendEvent('run_1', out('late'), at, 'node_a')
      await expect(late).rejects.toBeInstanceOf(RunTakenOver)
      await expect(late).rejects.toMatchObject({ runId: 'run_1', node: 'node_a', owner: 'node_b' })
      // a batch with one stale event stores none of its events (other owners' neither)
      await expect(
        other.appendEvents([
          { ownerId: 'ses_1', event: out('s1'), at, fence: firstClaim },
          { ownerId: 'run_2', event: out('r2'), at },
          { ownerId: 'run_1', event: out('late'), at, fence: 'node_a' },
        ]),
      ).rejects.toBeInstanceOf(RunTakenOver)
      expect(await store.eventsAfter('ses_1', 0, 10)).toEqual([])
      expect(await store.eventsAfter('run_2', 0, 10)).toEqual([])
      // the owner's history: node_a's events before the takeover, then node_b's end, no gap, nothing after it
      expect((await store.eventsAfter('run_1', 0, 10)).map((e) => [e.seq, e.type])).toEqual([
        [1, 'output'],
        [2, 'output'],
        [3, 'run.completed'],
      ])
      expect((await store.getRun('run_1'))?.lastSeq).toBe(3)
      // the owner's events (and events without a fence) go on with the next seq; an unknown run stays unknown
      expect((await other.appendEvent('run_2', out('b1'), at, 'node_b')).seq).toBe(1)
      expect((await other.appendEvent('run_2', out('unfenced'), at)).seq).toBe(2)
      await expect(store.appendEvent('run_none', out('x'), at, 'node_a')).rejects.toThrow(/unknown run/)
      // a fence of the wrong kind for its owner is a bug, said so (not taken for stale)
      await expect(store.appendEvent('run_2', out('x'), at, firstClaim)).rejects.toThrow(/fenced by its node/)
      await expect(store.appendEvent('ses_1', out('x'), at, 'node_a')).rejects.toThrow(/fenced by a claim/)
    })

    it("a takeover racing a node that appends its run's events: every batch is stored whole before it or refused after it", async () => {
      const { store, connect } = await fresh(['node_a', 'node_b'])
      const other = await connect()
      await store.admitRun(newRun('run_1'), 'node_a', 10)
      const { stored, afterTheTakeover, taken } = await raceTakeover(
        40,
        (i) => other.appendEvents(outputBatch('run_1', i, 'node_a')),
        RunTakenOver,
        async (committed) => {
          await store.eventsAfter('run_1', 0, 1)
          const runs = await store.takeOverRuns(['node_a'], 'node_b')
          committed()
          return runs
        },
      )
      expect(ids(taken)).toEqual(['run_1'])
      expect(afterTheTakeover).toEqual([])
      const events = await store.eventsAfter('run_1', 0, 1000)
      expect(events.length).toBe(stored.length * 2)
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
    })

    it('takeOverSessions returns the claim the taker holds: its writes pass with it, a later holder fences them out', async () => {
      const { store } = await fresh(['node_a', 'node_b', 'node_c'])
      await store.createSession(newSession('ses_1'), 'node_a')
      await store.createTurn(newTurn('trn_1', 'ses_1', { status: 'running' }), firstClaim)
      const [byB] = await store.takeOverSessions(['node_a'], 'node_b')
      expect(byB).toMatchObject({ id: 'ses_1', claim: firstClaim + 1 })
      const at = '2026-01-01T00:00:05.000Z'
      expect(await setStateAlone(store, 'ses_1', { status: 'idle', at }, byB!.claim)).toBe(true)
      // node_b stalls; node_c takes the session from it: node_b's recovery writes are refused from then on
      const [byC] = await store.takeOverSessions(['node_b'], 'node_c')
      expect(byC!.claim).toBe(byB!.claim + 1)
      await expect(
        store.updateTurn('trn_1', { status: 'failed' }, undefined, byB!.claim),
      ).rejects.toBeInstanceOf(SessionTakenOver)
      expect(await store.getTurn('trn_1')).toMatchObject({ status: 'running' })
    })

    it("resolveApproval with a claim (a takeover's own cancel): refused once the session's claim is another, a client's answer (no claim) is not", async () => {
      const { store } = await fresh(['node_a', 'node_b'])
      await store.createSession(newSession('ses_1'), 'node_a')
      await store.createApproval(newApproval('apr_1', 'ses_1'))
      await store.createApproval(newApproval('apr_2', 'ses_1'))
      const cancel = { decision: 'cancel' as const, by: 'server_restart', resolvedAt: 't' }
      await store.claimSession('ses_1', 'node_b')
      await expect(store.resolveApproval('apr_1', cancel, firstClaim)).rejects.toBeInstanceOf(
        SessionTakenOver,
      )
      expect(await store.getApproval('apr_1')).toMatchObject({ state: 'pending' })
      expect(await store.resolveApproval('apr_1', cancel, firstClaim + 1)).toMatchObject({
        state: 'resolved',
      })
      // an approval already answered stays answered, whatever the claim (first answer wins)
      expect(await store.resolveApproval('apr_1', cancel, firstClaim)).toBeUndefined()
      const answer = { decision: 'accept' as const, by: 'client', resolvedAt: 't' }
      expect(await store.resolveApproval('apr_2', answer)).toMatchObject({ decision: 'accept' })
    })

    it('session claims: updateSession with a stale claim stores nothing', async () => {
      const { store, connect } = await fresh()
      const other = await connect()
      await store.createSession(newSession('ses_1'), 'node_a')
      expect(
        await other.updateSession('ses_1', { budgetBase: { turns: 1, tokens: 0, seconds: 0 } }, firstClaim),
      ).toMatchObject({ budgetBase: { turns: 1 } })
      const claimB = await store.claimSession('ses_1', 'node_b')
      await expect(
        other.updateSession('ses_1', { budgetBase: { turns: 9, tokens: 0, seconds: 0 } }, firstClaim),
      ).rejects.toBeInstanceOf(SessionTakenOver)
      expect((await store.getSession('ses_1'))?.budgetBase).toEqual({ turns: 1, tokens: 0, seconds: 0 })
      expect(
        await store.updateSession('ses_1', { budgetBase: { turns: 2, tokens: 0, seconds: 0 } }, claimB),
      ).toMatchObject({ budgetBase: { turns: 2 } })
    })

    it("sessions: what accept_for_session allowed (allowedForSession) is stored under the claim and comes back to the session's next holder", async () => {
      const { store, connect } = await fresh()
      const other = await connect()
      await store.createSession(newSession('ses_1'), 'node_a')
      const rules = ['Bash(npm test *)', 'Bash(echo "a, b" > x.txt)']
      await store.updateSession('ses_1', { allowedForSession: rules }, firstClaim)
      expect((await other.getSession('ses_1'))?.allowedForSession).toEqual(rules)
      const [taken] = await other.takeOverSessions(['node_a'], 'node_b')
      expect(taken).toMatchObject({ id: 'ses_1', allowedForSession: rules })
      await expect(
        store.updateSession('ses_1', { allowedForSession: ['Bash(rm -rf /)'] }, firstClaim),
      ).rejects.toBeInstanceOf(SessionTakenOver)
      expect((await other.getSession('ses_1'))?.allowedForSession).toEqual(rules)
    })

    it('nodes: registered, heartbeats recorded, removed (a removed node heartbeats false)', async () => {
      const { store } = await fresh([])
      await store.registerNode(nodeRecord('node_a'))
      await store.registerNode(nodeRecord('node_b'))
      expect(await store.heartbeat('node_a', '2026-01-01T00:00:05.000Z')).toBe(true)
      expect(await store.listNodes()).toEqual([
        nodeRecord('node_a', '2026-01-01T00:00:05.000Z'),
        nodeRecord('node_b'),
      ])
      await store.removeNode('node_b')
      expect(await store.heartbeat('node_b', '2026-01-01T00:00:06.000Z')).toBe(false)
      expect(ids(await store.listNodes())).toEqual(['node_a'])
    })

    it('webhook outbox: due deliveries are found, kept for another connection, and leave when delivered', async () => {
      const { store, connect } = await fresh()
      const delivery = newWebhookDelivery
      expect(await store.nextWebhookAt()).toBeNull()
      await store.enqueueWebhook(delivery('msg_a', '2026-01-01T00:00:01.000Z'))
      await store.enqueueWebhook(delivery('msg_b', '2026-01-01T00:10:00.000Z'))
      expect(await store.nextWebhookAt()).toBe('2026-01-01T00:00:01.000Z')
      const other = await connect()
      expect(ids(await other.dueWebhooks('2026-01-01T00:00:05.000Z', 10))).toEqual(['msg_a'])
      await other.updateWebhook('msg_a', { state: 'delivered', attempts: 1, deliveredAt: 't' })
      expect(await store.getWebhook('msg_a')).toMatchObject({ state: 'delivered', attempts: 1 })
      expect(await store.dueWebhooks('2026-01-01T00:00:05.000Z', 10)).toEqual([])
      expect(await store.nextWebhookAt()).toBe('2026-01-01T00:10:00.000Z')
      expect(ids(await store.dueWebhooks('2026-01-01T01:00:00.000Z', 10))).toEqual(['msg_b'])
    })
  })
}
