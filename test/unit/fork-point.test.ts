import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ForkedHead } from '../../src/agents/session.js'
import { EventLog } from '../../src/core/event-log.js'
import { forkPointOf } from '../../src/core/fork-point.js'
import type { AgentEvent } from '../../src/protocol/events.js'
import type { Session } from '../../src/protocol/sessions.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { newSession, newTurn, nodeRecord } from '../contract/store-contract.js'
import { tempDir } from '../support/temp.js'

/**
 * The fork point set from where the agent cut the parent's thread (fork-point.ts), on a real SQLite store and event
 * log: the cases the codex test (v1-sessions.test.ts) cannot force, an event the parent stored before the fork that
 * the fork does not hold among them.
 */
describe('forkPointOf', () => {
  let store: SqliteStore
  let log: EventLog
  beforeEach(async () => {
    store = new SqliteStore(path.join(tempDir('fork-point-'), 'gw.db'))
    log = new EventLog(store)
    await store.registerNode(nodeRecord('node-a'))
    await store.createSession(newSession('ses_p', { turnCount: 1 }), 'node-a')
    await store.createTurn(newTurn('trn_1', 'ses_p', { agentTurnId: 'agent-1', status: 'running' }))
  })
  afterEach(async () => {
    await log.drain()
    await store.close()
  })

  const completed = (id: string): AgentEvent => ({
    type: 'item.completed',
    item: { id, type: 'agent_message', text: id },
  })
  const userMessage: AgentEvent = {
    type: 'agent.raw',
    agent: 'codex',
    payload: { method: 'item/completed', params: { item: { id: 'user-1', type: 'userMessage' } } },
  }
  const append = async (...events: AgentEvent[]) => {
    for (const ev of events) await log.append('ses_p', ev)
  }
  const read = async () => (await store.getSession('ses_p')) as Session
  const head = (items: string[], ended = false): ForkedHead => ({ turnId: 'agent-1', ended, items })
  const point = (at: Session, forked: ForkedHead | undefined, busy = true) =>
    forkPointOf({ store, log }, 'ses_p', at, { forkedHead: async () => forked }, () => busy)

  it('an item the fork holds that the parent stores after the read: the point moves on to it', async () => {
    await append({ type: 'turn.started', turnId: 'trn_1' }, userMessage, completed('msg-1'))
    const at = await read()
    const moved = point(at, head(['user-1', 'msg-1', 'msg-2']))
    // stored once the fork point is asked for: waited for, not missed
    const [late] = await Promise.all([log.append('ses_p', completed('msg-2')), moved])
    expect(await moved).toEqual({ forkedAtTurn: 1, forkedAtSeq: late.seq })
  })

  it('an item the parent stored before the read that the fork does not hold: the point moves back before it', async () => {
    await append({ type: 'turn.started', turnId: 'trn_1' }, userMessage, completed('msg-1'))
    const cut = (await read()).lastSeq
    await append({ type: 'item.delta', itemId: 'msg-2', delta: 'x' }, completed('msg-2'), completed('msg-3'))
    expect(await point(await read(), head(['user-1', 'msg-1']))).toEqual({
      forkedAtTurn: 1,
      forkedAtSeq: cut + 1,
    })
  })

  it("the turn's end the fork holds, stored after the read: the point has it and counts the turn", async () => {
    await append({ type: 'turn.started', turnId: 'trn_1' }, userMessage, completed('msg-1'))
    const at = await read()
    const moved = point(at, head(['user-1', 'msg-1'], true))
    const { events } = await log.commitWith('ses_p', (tx = store) =>
      tx.completeTurnWithEvents(
        'trn_1',
        { status: 'completed' },
        new Date().toISOString(),
        'idle',
        undefined,
        () => [
          {
            ownerId: 'ses_p',
            event: { type: 'turn.completed', turnId: 'trn_1', status: 'completed', usage: null },
            at: '',
          },
        ],
      ),
    )
    expect(await moved).toEqual({ forkedAtTurn: 2, forkedAtSeq: events[0]!.seq })
  })

  it("what the parent stored by the read is what the fork holds: the read stands, and an idle parent's agent is not asked", async () => {
    await append({ type: 'turn.started', turnId: 'trn_1' }, userMessage, completed('msg-1'))
    await append({ type: 'item.started', item: { id: 'msg-2', type: 'agent_message', text: '' } })
    const at = await read()
    expect(await point(at, head(['user-1', 'msg-1']))).toEqual({ forkedAtTurn: 1, forkedAtSeq: at.lastSeq })
    let asked = false
    const idle = await forkPointOf(
      { store, log },
      'ses_p',
      at,
      {
        forkedHead: async () => {
          asked = true
          return head([])
        },
      },
      () => false,
    )
    expect({ idle, asked }).toEqual({ idle: { forkedAtTurn: 1, forkedAtSeq: at.lastSeq }, asked: false })
  })

  // claude: the fork holds the turns that had ended, none of the one running (ForkedHead `before`)
  const before: ForkedHead = { turnId: 'agent-1', ended: false, items: [], before: true }

  it('a fork that holds none of the running turn: the point is right before its start, stored by the read', async () => {
    const start = await log.append('ses_p', { type: 'turn.started', turnId: 'trn_1' })
    await append(completed('msg-1'), {
      type: 'item.started',
      item: { id: 'msg-2', type: 'agent_message', text: '' },
    })
    expect(await point(await read(), before)).toEqual({ forkedAtTurn: 1, forkedAtSeq: start.seq - 1 })
  })

  it('a fork that holds none of the running turn, whose start is stored after the read: it is waited for', async () => {
    await append({ type: 'session.status', status: 'running' })
    const at = await read()
    const moved = point(at, before)
    const [start] = await Promise.all([log.append('ses_p', { type: 'turn.started', turnId: 'trn_1' }), moved])
    expect(await moved).toEqual({ forkedAtTurn: 1, forkedAtSeq: start.seq - 1 })
  })
})
