import { describe, expect, it } from 'vitest'
import type { AgentSession, TurnInput } from '../../src/agents/session.js'
import type { AgentEvent, StoredEvent } from '../../src/protocol/events.js'
import type { Turn } from '../../src/protocol/sessions.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import {
  type EventToAppend,
  type SessionClaim,
  type SessionStateChange,
  type SessionStateRead,
  SessionTakenOver,
} from '../../src/store/store.js'
import type { newSession } from '../contract/store-contract.js'
import { cleanUpFakeAgentSessions, sessionsOnFakeAgent } from '../support/fake-agent-sessions.js'

/**
 * The order of a session turn's first steps (SessionManager.startTurn, turn-execution.ts): the agent gets the turn
 * as early as the guarantees allow, and the turn's row is stored before its running mark and any of its events.
 */

/** A real SQLite store that writes down its turn and event writes, in order, next to the agent's starts. */
class RecordingStore extends SqliteStore {
  constructor(
    file: string,
    readonly order: string[],
  ) {
    super(file)
  }
  /** Runs once, right before the next createTurn: another node acts in between. */
  beforeCreateTurn: (() => Promise<void>) | undefined
  override async createTurn(turn: Turn, claim?: SessionClaim, session?: SessionStateChange) {
    const before = this.beforeCreateTurn
    this.beforeCreateTurn = undefined
    await before?.()
    this.order.push(`createTurn:${turn.status}${session ? `+${session.status}` : ''}`)
    return super.createTurn(turn, claim, session)
  }
  override async createTurnWithEvents(...args: Parameters<SqliteStore['createTurnWithEvents']>) {
    const [turn, claim, session, eventsOf] = args
    const before = this.beforeCreateTurn
    this.beforeCreateTurn = undefined
    await before?.()
    const at = this.order.push(`createTurn:${turn.status}`) - 1
    // the session's state, given or computed from the state read in the step's transaction
    const withState = (change: SessionStateChange | undefined) => {
      if (change) this.order[at] += `+${change.status}`
      return change
    }
    const state =
      typeof session === 'function'
        ? (read: SessionStateRead) => withState(session(read))
        : withState(session)
    return super.createTurnWithEvents(turn, claim, state, (step) => this.eventsIn(eventsOf(step)))
  }
  override async updateTurn(...args: Parameters<SqliteStore['updateTurn']>) {
    this.order.push(`updateTurn:${args[1].status ?? Object.keys(args[1]).join(',')}`)
    return super.updateTurn(...args)
  }
  override async updateTurnWithEvents(...args: Parameters<SqliteStore['updateTurnWithEvents']>) {
    const [id, patch, session, claim, eventsOf] = args
    this.order.push(`updateTurn:${patch.status ?? Object.keys(patch).join(',')}`)
    return super.updateTurnWithEvents(id, patch, session, claim, (step) => this.eventsIn(eventsOf(step)))
  }
  /** Events stored in a turn's own transaction (its row is there by then). */
  private eventsIn(events: readonly EventToAppend[]): readonly EventToAppend[] {
    for (const b of events) this.order.push(`event:${b.event.type}`)
    return events
  }
  override async appendEvent(ownerId: string, event: AgentEvent, at: string, fence?: EventToAppend['fence']) {
    await this.eventOf(event)
    return super.appendEvent(ownerId, event, at, fence)
  }
  override async appendEvents(batch: readonly EventToAppend[]): Promise<StoredEvent[]> {
    for (const b of batch) await this.eventOf(b.event)
    return super.appendEvents(batch)
  }
  override async completeTurnWithEvents(...args: Parameters<SqliteStore['completeTurnWithEvents']>) {
    const [id, patch, at, status, claim, eventsOf] = args
    return super.completeTurnWithEvents(id, patch, at, status, claim, (step) => this.eventsIn(eventsOf(step)))
  }
  /** A turn's event names the turn: its row must be stored by then. */
  private async eventOf(event: AgentEvent): Promise<void> {
    const turnId = 'turnId' in event && typeof event.turnId === 'string' ? event.turnId : undefined
    const rowThere = turnId?.startsWith('turn_') ? (await super.getTurn(turnId)) !== undefined : true
    this.order.push(`event:${event.type}${rowThere ? '' : ' (no row yet)'}`)
  }
}

/** A session agent whose turns answer at once; a turn's start (codex's `turn/start`) is written down. */
function fakeAgent(order: string[]): AgentSession {
  let n = 0
  return {
    async *turn(_input: TurnInput, signal: AbortSignal) {
      order.push('agent:turn/start')
      signal.addEventListener('abort', () => order.push('agent:aborted'), { once: true })
      const agentTurnId = `agent-turn-${++n}`
      // the model's answer comes later than the gateway's own steps
      await new Promise<void>((resolve) => setTimeout(resolve, 5))
      if (signal.aborted) {
        yield { type: 'turn.completed', turnId: agentTurnId, status: 'interrupted', usage: null }
        return
      }
      yield { type: 'turn.started', turnId: agentTurnId }
      yield { type: 'item.completed', item: { id: `m${n}`, type: 'agent_message', text: 'ok' } }
      yield { type: 'turn.completed', turnId: agentTurnId, status: 'completed', usage: null }
    },
    close: async () => {},
  } as unknown as AgentSession
}

cleanUpFakeAgentSessions()

async function setup(sessionFields: Parameters<typeof newSession>[1] = {}) {
  const order: string[] = []
  const agent = fakeAgent(order)
  const { store, sessions } = await sessionsOnFakeAgent({
    dirPrefix: 'turn-start-',
    makeStore: (file) => new RecordingStore(file, order),
    open: () => agent,
    resume: () => agent,
    sessionFields,
  })
  return { store, order, sessions }
}

const hi: TurnInput = [{ type: 'text', text: 'hi' }]

describe('a session turn that starts at once', () => {
  it('goes to the agent before its row is stored; the row is stored running, with the session state, before its events', async () => {
    const { store, order, sessions } = await setup()
    const turn = await sessions.startTurn('ses_a', hi)
    // answered once its row is stored: the turn can be read
    expect(await store.getTurn(turn.id)).toMatchObject({ id: turn.id })
    const ended = await sessions.waitTurn(turn.id)
    expect(ended).toMatchObject({ status: 'completed', finalResponse: 'ok' })
    await sessions.idle()
    // one step: the row as it starts running with the session's new state (no updateTurn of its own)
    expect(order.slice(0, 3)).toEqual([
      'agent:turn/start',
      'createTurn:running+running',
      'event:session.status',
    ])
    expect(order).not.toContain('updateTurn:running')
    expect(order.filter((o) => o.includes('no row yet'))).toEqual([])
    expect(order).toContain('event:turn.completed')
  })

  it('is stored before it queues when another turn runs, and goes to the agent when that one ended', async () => {
    const { order, sessions } = await setup()
    const first = await sessions.startTurn('ses_a', hi)
    const second = await sessions.startTurn('ses_a', hi)
    expect(await sessions.waitTurn(first.id)).toMatchObject({ status: 'completed' })
    expect(await sessions.waitTurn(second.id)).toMatchObject({ status: 'completed' })
    await sessions.idle()
    const createsBeforeSecondStart = order
      .slice(0, order.lastIndexOf('agent:turn/start'))
      .filter((o) => o.startsWith('createTurn')).length
    // both rows were stored before the second turn reached the agent
    expect(createsBeforeSecondStart).toBe(2)
    expect(order.filter((o) => o === 'agent:turn/start')).toHaveLength(2)
    expect(order.filter((o) => o.includes('no row yet'))).toEqual([])
  })

  it('is stored before the budget gate of a session with limits, and before the agent gets it', async () => {
    const { order, sessions } = await setup({ limits: { maxTurns: 5 } })
    sessions.budgetGate = async () => {
      order.push('budgetGate')
      return null
    }
    const turn = await sessions.startTurn('ses_a', hi)
    expect(await sessions.waitTurn(turn.id)).toMatchObject({ status: 'completed' })
    await sessions.idle()
    expect(order.slice(0, 4)).toEqual([
      'createTurn:queued',
      'budgetGate',
      'agent:turn/start',
      'updateTurn:running',
    ])
  })

  it('refused (another node took the session over after this node opened it): answers why, the agent stops, nothing is recorded', async () => {
    const { store, order, sessions } = await setup()
    // opened here first (the session's claim this node holds), as a warm session is
    await sessions.waitTurn((await sessions.startTurn('ses_a', hi)).id)
    await sessions.idle()
    const eventsBefore = (await store.eventsAfter('ses_a', 0, 1000)).length
    order.length = 0
    store.beforeCreateTurn = async () => {
      await store.markNodesLost(['node_a'], new Date().toISOString())
      await store.takeOverSessions(['node_a'], 'node_b')
    }
    const refused = await sessions.startTurn('ses_a', hi).catch((err: unknown) => err)
    expect(refused).toBeInstanceOf(SessionTakenOver)
    await sessions.idle()
    expect(await store.listTurns('ses_a')).toHaveLength(1)
    expect((await store.eventsAfter('ses_a', 0, 1000)).length).toBe(eventsBefore)
    // this node let go of the session; the agent's turn, if it was started at all, was stopped
    expect(sessions.isLoaded('ses_a')).toBe(false)
    const agentSteps = order.filter((o) => o.startsWith('agent:'))
    expect(agentSteps.length === 0 || agentSteps.at(-1) === 'agent:aborted').toBe(true)
  })
})
