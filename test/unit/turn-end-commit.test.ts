import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
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
import { agentYielding } from '../support/fake-agent-sessions.js'
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
