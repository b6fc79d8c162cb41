import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { AgentSession } from '../../src/agents/session.js'
import { ApprovalBroker } from '../../src/core/approvals.js'
import { EventLog } from '../../src/core/event-log.js'
import type { StoreNotices } from '../../src/core/ops/store-notices.js'
import { SessionState } from '../../src/core/session-state.js'
import { runTurn } from '../../src/core/turn-execution.js'
import { queuedTurn } from '../../src/core/turn-queue.js'
import type { AgentEvent, StoredEvent } from '../../src/protocol/events.js'
import type { Turn } from '../../src/protocol/sessions.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import type { EventToAppend } from '../../src/store/store.js'
import { newSession, nodeRecord } from '../contract/store-contract.js'
import {
  agentYielding,
  cleanUpFakeAgentSessions,
  sessionsOnFakeAgent,
} from '../support/fake-agent-sessions.js'
import { tempDir } from '../support/temp.js'

/** A real SQLite store that records the event types of every transaction that stores events. */
class CountingStore extends SqliteStore {
  readonly commits: string[][] = []
  override async appendEvent(ownerId: string, event: AgentEvent, at: string): Promise<StoredEvent> {
    this.commits.push([event.type])
    return super.appendEvent(ownerId, event, at)
  }
  override async appendEvents(batch: readonly EventToAppend[]): Promise<StoredEvent[]> {
    this.commits.push(batch.map((b) => b.event.type))
    return super.appendEvents(batch)
  }
  override async completeTurnWithEvents(...args: Parameters<SqliteStore['completeTurnWithEvents']>) {
    const done = await super.completeTurnWithEvents(...args)
    this.commits.push(['(turn end)', ...done.events.map((e) => e.type)])
    return done
  }
}

const stores: SqliteStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

type TurnHooks = Parameters<typeof runTurn>[0]

/** `store` with node `node`, session `ses_a` and one queued turn; `hooks` for runTurn with `extra` over them. */
async function oneTurnOn<S extends SqliteStore>(store: S) {
  stores.push(store)
  await store.registerNode(nodeRecord('node'))
  await store.createSession(newSession('ses_a'), 'node')
  const log = new EventLog(store)
  const state = new SessionState(store, log, () => true)
  const turn = queuedTurn('ses_a', [{ type: 'text', text: 'hi' }])
  await store.createTurn(turn)
  const hooks = (extra: Partial<TurnHooks> = {}): TurnHooks => ({
    log,
    store,
    markRunning: (patch) => state.startTurn('ses_a', turn.id, patch),
    markEnded: (patch, at, ended, end) =>
      state.completeTurn('ses_a', turn.id, patch, at, ended, undefined, end),
    beforeStart: async () => {},
    takenOver: async () => {},
    turnEnded: () => {},
    recorded: () => {},
    ...extra,
  })
  return { store, turn, hooks }
}

describe('the end of a session turn', () => {
  it('stores the turn end, the state it leads to and their events in one transaction, then answers the waiter', async () => {
    const { store, turn, hooks } = await oneTurnOn(
      new CountingStore(path.join(tempDir('turn-end-'), 'gw.db')),
    )
    let answered: Turn | undefined
    let eventsWhenAnswered: string[] = []
    const owned = await runTurn(
      hooks({
        recorded: (ended) => {
          answered = ended
          // what a client reading the session's events sees once its turn is answered
          eventsWhenAnswered = store.commits.flat()
        },
      }),
      'ses_a',
      agentYielding([
        { type: 'turn.started', turnId: 'agent-turn-1' },
        { type: 'item.completed', item: { id: 'i1', type: 'agent_message', text: 'ok' } },
        { type: 'turn.completed', turnId: 'agent-turn-1', status: 'completed', usage: null },
      ]),
      turn,
      new AbortController().signal,
    )
    expect(owned).toBe(true)
    expect(answered).toMatchObject({ id: turn.id, status: 'completed', finalResponse: 'ok' })
    // one transaction after the agent's last event: the turn's end with its event and the state's
    expect(store.commits.at(-1)).toEqual(['(turn end)', 'turn.completed', 'session.status'])
    expect(store.commits.filter((c) => c.includes('turn.completed'))).toHaveLength(1)
    expect(eventsWhenAnswered.slice(-3)).toEqual(['(turn end)', 'turn.completed', 'session.status'])
    const stored = await store.eventsAfter('ses_a', 0, 100)
    expect(stored.map((e) => (e.type === 'session.status' ? `status:${e.status}` : e.type))).toEqual([
      'status:running',
      'turn.started',
      'item.completed',
      'turn.completed',
      'status:idle',
    ])
    expect((await store.getSession('ses_a'))?.status).toBe('idle')
  })

  it('a store that fails the end (its disk full) is tried again: the turn ends stored, not running for good', async () => {
    const { store, turn, hooks } = await oneTurnOn(
      new FullOnceStore(path.join(tempDir('turn-end-full-'), 'gw.db')),
    )
    const failures: (number | undefined)[] = []
    let answered: Turn | undefined
    const owned = await runTurn(
      hooks({
        recorded: (ended) => {
          answered = ended
        },
        endRetry: {
          retryMs: [1],
          notices: {
            endFailed: (...args: Parameters<StoreNotices['endFailed']>) => failures.push(args[3]),
          } as unknown as StoreNotices,
        },
      }),
      'ses_a',
      agentYielding([
        { type: 'turn.started', turnId: 'agent-turn-1' },
        { type: 'turn.completed', turnId: 'agent-turn-1', status: 'completed', usage: null },
      ]),
      turn,
      new AbortController().signal,
    )
    expect(owned).toBe(true)
    expect(failures).toEqual([1])
    expect(answered).toMatchObject({ id: turn.id, status: 'completed' })
    expect(await store.getTurn(turn.id)).toMatchObject({ status: 'completed' })
    const seqs = (await store.eventsAfter('ses_a', 0, 100)).map((e) => e.seq)
    expect(seqs).toEqual([1, 2, 3, 4])
    expect((await store.getSession('ses_a'))?.status).toBe('idle')
  })
  it("a turn the gateway's stop interrupted says so (its agent says only interrupted)", async () => {
    const { store, turn, hooks } = await oneTurnOn(
      new SqliteStore(path.join(tempDir('turn-end-shutdown-'), 'gw.db')),
    )
    const stop = new AbortController()
    stop.abort('shutdown')
    await runTurn(
      hooks(),
      'ses_a',
      agentYielding([
        { type: 'turn.started', turnId: 'agent-turn-1' },
        { type: 'turn.completed', turnId: 'agent-turn-1', status: 'interrupted', usage: null },
      ]),
      turn,
      stop.signal,
    )
    const why = 'interrupted: the server shut down during the turn'
    expect(await store.getTurn(turn.id)).toMatchObject({ status: 'interrupted', error: why })
    const events = await store.eventsAfter('ses_a', 0, 100)
    expect(events.find((e) => e.type === 'turn.completed')).toMatchObject({
      status: 'interrupted',
      error: why,
    })
  })
})

/** A real SQLite store whose first turn end fails as SQLite does on a full disk (rolled back: nothing stored). */
class FullOnceStore extends SqliteStore {
  private full = true
  override async completeTurnWithEvents(...args: Parameters<SqliteStore['completeTurnWithEvents']>) {
    if (this.full) {
      this.full = false
      throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })
    }
    return super.completeTurnWithEvents(...args)
  }
}

/** A real SQLite store whose turn ends fail as on a full disk while `full`; `failed` hears each failure's count. */
class FullWhileStore extends SqliteStore {
  full = false
  failures = 0
  failed: (n: number) => void = () => {}
  override async completeTurnWithEvents(...args: Parameters<SqliteStore['completeTurnWithEvents']>) {
    if (this.full) {
      this.failed(++this.failures)
      throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })
    }
    return super.completeTurnWithEvents(...args)
  }
}

/** A session agent whose turn runs until it is interrupted (an archive interrupts it), then ends `interrupted`. */
function agentUntilInterrupted() {
  let started!: () => void
  const turnStarted = new Promise<void>((r) => (started = r))
  const agent = {
    async *turn(_input: unknown, signal: AbortSignal) {
      yield { type: 'turn.started', turnId: 'agent-turn-1' }
      started()
      await new Promise((r) =>
        signal.aborted ? r(undefined) : signal.addEventListener('abort', r, { once: true }),
      )
      yield { type: 'turn.completed', turnId: 'agent-turn-1', status: 'interrupted', usage: null }
    },
    archive: async () => {},
    close: async () => {},
  } as unknown as AgentSession
  return { agent, turnStarted }
}

describe("an archive while the running turn's end is refused by the store (its disk full) and tried again", () => {
  cleanUpFakeAgentSessions()

  async function archiving() {
    const { agent, turnStarted } = agentUntilInterrupted()
    const setup = await sessionsOnFakeAgent({
      dirPrefix: 'archive-end-full-',
      makeStore: (file) => new FullWhileStore(file),
      open: () => agent,
      resume: () => agent,
    })
    // an end refused is tried again every 5 ms; an archive waits for its turn's end in rounds of 10 ms (30 ms in
    // all): the disk below frees after 20 refusals, 100 ms at least, well past those rounds
    setup.sessions.approvals = new ApprovalBroker(setup.store, setup.log, 60_000, (id) =>
      setup.sessions.refreshStatus(id),
    )
    setup.sessions.endRetry = { retryMs: [5] }
    setup.sessions.archiveWaitMs = 10
    const turn = await setup.sessions.startTurn('ses_a', [{ type: 'text', text: 'long' }])
    await turnStarted
    setup.store.full = true
    return { ...setup, turn }
  }

  it('waits past its bound until the end is stored: archived comes after the end, and a reader gets both', async () => {
    const { store, sessions, turn } = await archiving()
    try {
      store.failed = (n) => {
        if (n === 20) store.full = false
      }
      expect(await sessions.archive('ses_a')).toMatchObject({ status: 'archived' })
      // it waited for the end: not archived while the end was refused
      expect(store.failures).toBe(20)
      expect(await store.getTurn(turn.id)).toMatchObject({ status: 'interrupted' })
      const label = (ev: StoredEvent) => (ev.type === 'session.status' ? `status:${ev.status}` : ev.type)
      const stored = (await store.eventsAfter('ses_a', 0, 100)).map(label)
      expect(stored.indexOf('turn.completed')).toBeGreaterThan(0)
      expect(stored.indexOf('turn.completed')).toBeLessThan(stored.indexOf('status:archived'))
      expect(stored.at(-1)).toBe('status:archived')
      // the session's stream delivers all of it, ending with archived
      const read: string[] = []
      for await (const ev of sessions.events('ses_a', 0)) read.push(label(ev))
      expect(read).toEqual(stored)
    } finally {
      store.full = false
      await sessions.closeAll()
    }
  })

  it('given up as the gateway stops, the session is not archived: 503 shutting_down, never archived before the end', async () => {
    const { store, sessions } = await archiving()
    try {
      store.failed = (n) => {
        if (n === 3) sessions.stopAccepting()
      }
      await expect(sessions.archive('ses_a')).rejects.toMatchObject({
        code: 'shutting_down',
        message: expect.stringMatching(/is not archived; archive it again once the gateway is back/),
      })
      expect((await store.getSession('ses_a'))?.status).not.toBe('archived')
      const types = (await store.eventsAfter('ses_a', 0, 100)).map((ev) => ev.type)
      expect(types).not.toContain('turn.completed')
    } finally {
      store.full = false
      await sessions.closeAll()
    }
  })
})
