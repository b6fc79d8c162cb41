import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { EventLog } from '../../src/core/event-log.js'
import { SessionState } from '../../src/core/session-state.js'
import { runTurn } from '../../src/core/turn-execution.js'
import { queuedTurn } from '../../src/core/turn-queue.js'
import { Redactor } from '../../src/process/secrets.js'
import type { AgentEvent } from '../../src/protocol/events.js'
import { InProcessEventBus } from '../../src/store/event-bus.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { newSession, nodeRecord } from '../contract/store-contract.js'
import { agentYielding } from '../support/fake-agent-sessions.js'
import { tempDir } from '../support/temp.js'

const secret = 'sk-turn-secret-0123456789'

/** Counts the walks over events (each one reads every string of the event). */
class CountingRedactor extends Redactor {
  walks: string[] = []
  override value<T>(input: T): T {
    this.walks.push((input as { type: string }).type)
    return super.value(input)
  }
}

const stores: SqliteStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

describe("a session turn's redaction", () => {
  it('each event stored is walked once, the agent’s own status never; secrets are gone from all of them', async () => {
    const store = new SqliteStore(path.join(tempDir('turn-redaction-'), 'gw.db'))
    stores.push(store)
    await store.registerNode(nodeRecord('node'))
    await store.createSession(newSession('ses_a'), 'node')
    const claim = await store.claimSession('ses_a', 'node')
    const redactor = new CountingRedactor([secret])
    const log = new EventLog(store, new InProcessEventBus(), redactor)
    const state = new SessionState(store, log, () => true)
    const turn = queuedTurn('ses_a', [{ type: 'text', text: 'hi' }])
    await store.createTurn(turn)
    const agentTurn: AgentEvent[] = [
      { type: 'turn.started', turnId: `agent-${secret}` },
      { type: 'session.status', status: 'running' },
      { type: 'item.completed', item: { id: 'i1', type: 'agent_message', text: `the key is ${secret}` } },
      { type: 'session.status', status: 'idle' },
      { type: 'turn.completed', turnId: 'agent-turn', status: 'completed', usage: null },
    ]
    const done = await runTurn(
      {
        log,
        store,
        claim,
        markRunning: (patch) => state.startTurn('ses_a', turn.id, patch, claim),
        markEnded: (patch, at, ended, end) =>
          state.completeTurn('ses_a', turn.id, patch, at, ended, claim, end),
        beforeStart: async () => {},
        takenOver: async () => {},
        turnEnded: () => {},
        recorded: () => {},
      },
      'ses_a',
      agentYielding(agentTurn),
      turn,
      new AbortController().signal,
    )
    expect(done).toBe(true)
    expect(redactor.walks).toEqual(['turn.started', 'item.completed', 'turn.completed'])
    const stored = await store.eventsAfter('ses_a', 0, 100)
    expect(JSON.stringify(stored)).not.toContain(secret)
    expect(stored.map((e) => e.type)).toEqual([
      'session.status',
      'turn.started',
      'item.completed',
      'turn.completed',
      'session.status',
    ])
    expect(stored.find((e) => e.type === 'item.completed')).toMatchObject({
      item: { text: 'the key is [REDACTED]' },
    })
    expect(stored.find((e) => e.type === 'turn.completed')).toMatchObject({ turnId: turn.id })
    const row = await store.getTurn(turn.id)
    expect(row).toMatchObject({
      status: 'completed',
      agentTurnId: 'agent-[REDACTED]',
      finalResponse: 'the key is [REDACTED]',
    })
  })
})
