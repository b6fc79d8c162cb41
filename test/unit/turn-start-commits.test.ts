import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { AgentSession } from '../../src/agents/session.js'
import { EventLog } from '../../src/core/event-log.js'
import { SessionState } from '../../src/core/session-state.js'
import { runTurn, type TurnExecutionContext } from '../../src/core/turn-execution.js'
import { queuedTurn } from '../../src/core/turn-queue.js'
import type { AgentEvent, StoredEvent } from '../../src/protocol/events.js'
import type { Turn } from '../../src/protocol/sessions.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import type { EventToAppend } from '../../src/store/store.js'
import { newSession, nodeRecord } from '../contract/store-contract.js'
import { agentYielding } from '../support/fake-agent-sessions.js'
import { tempDir } from '../support/temp.js'

/** A real SQLite store that writes down every commit a turn makes: its turn writes and the events in each. */
class CountingStore extends SqliteStore {
  readonly commits: string[][] = []
  /** Events it refuses, as a PostgreSQL store whose server went away does (nothing stored). */
  refusing: ((event: AgentEvent) => boolean) | undefined
  private refuse(events: AgentEvent[]): void {
    if (this.refusing && events.some(this.refusing)) throw new Error('Connection terminated unexpectedly')
  }
  override async appendEvent(ownerId: string, event: AgentEvent, at: string): Promise<StoredEvent> {
    this.refuse([event])
    this.commits.push([label(event)])
    return super.appendEvent(ownerId, event, at)
  }
  override async appendEvents(batch: readonly EventToAppend[]): Promise<StoredEvent[]> {
    this.refuse(batch.map((b) => b.event))
    this.commits.push(batch.map((b) => label(b.event)))
    return super.appendEvents(batch)
  }
  override async createTurn(...args: Parameters<SqliteStore['createTurn']>) {
    this.commits.push(['(turn row)'])
    return super.createTurn(...args)
  }
  override async updateTurn(...args: Parameters<SqliteStore['updateTurn']>) {
    this.commits.push([`(turn ${Object.keys(args[1]).join(',')})`])
    return super.updateTurn(...args)
  }
  override async createTurnWithEvents(...args: Parameters<SqliteStore['createTurnWithEvents']>) {
    const done = await super.createTurnWithEvents(...args)
    this.commits.push(['(turn row)', ...done.events.map(label)])
    return done
  }
  override async updateTurnWithEvents(...args: Parameters<SqliteStore['updateTurnWithEvents']>) {
    const done = await super.updateTurnWithEvents(...args)
    this.commits.push([`(turn ${Object.keys(args[1]).join(',')})`, ...done.events.map(label)])
    return done
  }
  override async completeTurnWithEvents(...args: Parameters<SqliteStore['completeTurnWithEvents']>) {
    const done = await super.completeTurnWithEvents(...args)
    this.commits.push(['(turn end)', ...done.events.map(label)])
    return done
  }
}

const label = (ev: AgentEvent) => (ev.type === 'session.status' ? `status:${ev.status}` : ev.type)

const stores: SqliteStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

const agentTurn: AgentEvent[] = [
  { type: 'turn.started', turnId: 'agent-turn-1' },
  { type: 'item.completed', item: { id: 'i1', type: 'agent_message', text: 'ok' } },
  { type: 'turn.completed', turnId: 'agent-turn-1', status: 'completed', usage: null },
]

async function setup() {
  const store = new CountingStore(path.join(tempDir('turn-start-commits-'), 'gw.db'))
  stores.push(store)
  await store.registerNode(nodeRecord('node'))
  await store.createSession(newSession('ses_a'), 'node')
  const claim = await store.claimSession('ses_a', 'node')
  const log = new EventLog(store)
  const state = new SessionState(store, log, () => true)
  const turn = queuedTurn('ses_a', [{ type: 'text', text: 'hi' }])
  const ctx = (recorded: (t: Turn | undefined) => void): TurnExecutionContext => ({
    log,
    store,
    claim,
    markRunning: (patch) => state.startTurn('ses_a', turn.id, patch, claim),
    markEnded: (patch, at, ended, end) => state.completeTurn('ses_a', turn.id, patch, at, ended, claim, end),
    beforeStart: async () => {},
    takenOver: async () => {},
    turnEnded: () => {},
    recorded,
  })
  return { store, state, turn, claim, ctx }
}

describe("a session turn's start", () => {
  it("a turn stored as it starts: its row, the running state and that state's event in one commit; the agent's turn id with turn.started in one", async () => {
    const { store, state, turn, claim, ctx } = await setup()
    let answered: Turn | undefined
    const owned = await runTurn(
      {
        ...ctx((t) => {
          answered = t
        }),
        // the turn went to the agent before its row was stored (SessionManager.startTurn)
        storeTurn: async (patch) => {
          await state.startTurn('ses_a', turn.id, patch, claim, turn)
          return true
        },
      },
      'ses_a',
      agentYielding(agentTurn),
      turn,
      new AbortController().signal,
    )
    expect(owned).toBe(true)
    expect(answered).toMatchObject({ id: turn.id, status: 'completed', agentTurnId: 'agent-turn-1' })
    expect(store.commits).toEqual([
      ['(turn row)', 'status:running'],
      ['(turn agentTurnId)', 'turn.started'],
      ['item.completed'],
      ['(turn end)', 'turn.completed', 'status:idle'],
    ])
    const stored = await store.eventsAfter('ses_a', 0, 100)
    expect(stored.map(label)).toEqual([
      'status:running',
      'turn.started',
      'item.completed',
      'turn.completed',
      'status:idle',
    ])
    expect(stored.find((e) => e.type === 'turn.started')).toMatchObject({ turnId: turn.id })
  })

  it('a queued turn: its running mark, the state and its event in one commit', async () => {
    const { store, turn, ctx } = await setup()
    await store.createTurn(turn)
    store.commits.length = 0
    expect(
      await runTurn(
        ctx(() => {}),
        'ses_a',
        agentYielding(agentTurn),
        turn,
        new AbortController().signal,
      ),
    ).toBe(true)
    expect(store.commits[0]).toEqual(['(turn status,startedAt)', 'status:running'])
    expect(store.commits[1]).toEqual(['(turn agentTurnId)', 'turn.started'])
    expect(await store.getTurn(turn.id)).toMatchObject({ status: 'completed', agentTurnId: 'agent-turn-1' })
  })

  it("another node's takeover refuses the agent's turn id and turn.started together: neither is stored", async () => {
    const { store, turn, ctx } = await setup()
    await store.createTurn(turn)
    const context = ctx(() => {})
    let refusals = 0
    const owned = await runTurn(
      {
        ...context,
        markRunning: async (patch) => {
          const running = await context.markRunning(patch)
          // taken over once the turn runs, before the agent names its turn
          await store.registerNode(nodeRecord('other'))
          await store.markNodesLost(['node'], new Date().toISOString())
          await store.takeOverSessions(['node'], 'other')
          return running
        },
        takenOver: async () => {
          refusals++
        },
      },
      'ses_a',
      agentYielding(agentTurn),
      turn,
      new AbortController().signal,
    )
    expect(owned).toBe(false)
    expect(refusals).toBe(1)
    expect((await store.getTurn(turn.id))?.agentTurnId).toBeNull()
    expect((await store.eventsAfter('ses_a', 0, 100)).map(label)).toEqual(['status:running'])
  })
})

describe('a session turn whose event the store refuses', () => {
  it('its agent, silent after that event, is interrupted at once, and the turn fails saying why', async () => {
    // before: the refusal was found at the agent's next event only, so an agent at work on a long command (silent
    // meanwhile) went on unrecorded, its turn `running`, until it said something again
    const { store, turn, ctx } = await setup()
    await store.createTurn(turn)
    store.refusing = (ev) => ev.type === 'item.delta'
    let interrupted = false
    const agent = {
      async *turn(_input: unknown, signal: AbortSignal) {
        yield { type: 'turn.started', turnId: 'agent-turn-1' } as AgentEvent
        yield { type: 'item.delta', itemId: 'i1', delta: 'working' } as AgentEvent
        // at work and silent until told to stop
        await new Promise<void>((resolve) => {
          if (signal.aborted) resolve()
          signal.addEventListener('abort', () => resolve(), { once: true })
        })
        interrupted = true
        yield {
          type: 'turn.completed',
          turnId: 'agent-turn-1',
          status: 'interrupted',
          usage: null,
        } as AgentEvent
      },
    } as unknown as AgentSession
    let answered: Turn | undefined
    const ran = runTurn(
      ctx((t) => {
        answered = t
      }),
      'ses_a',
      agent,
      turn,
      new AbortController().signal,
    )
    const bound = new Promise<string>((resolve) =>
      setTimeout(() => resolve('still running after 5 s'), 5000).unref(),
    )
    expect(await Promise.race([ran, bound])).toBe(true)
    expect(interrupted).toBe(true)
    expect(answered).toMatchObject({
      status: 'failed',
      error: 'storing its events failed: Connection terminated unexpectedly',
    })
    expect((await store.eventsAfter('ses_a', 0, 100)).map(label)).toEqual([
      'status:running',
      'turn.started',
      'turn.failed',
      'status:idle',
    ])
  })
})
