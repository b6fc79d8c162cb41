import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { AgentSession } from '../../src/agents/session.js'
import { EventLog } from '../../src/core/event-log.js'
import { SessionState } from '../../src/core/session-state.js'
import { runTurn } from '../../src/core/turn-execution.js'
import { queuedTurn } from '../../src/core/turn-queue.js'
import type { AgentEvent } from '../../src/protocol/events.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { firstClaim, SessionTakenOver } from '../../src/store/store.js'
import { settledWithin } from '../../src/util/settled-within.js'
import { newSession, nodeRecord } from '../contract/store-contract.js'
import { setStateAlone } from '../support/set-state.js'
import { tempDir } from '../support/temp.js'

const stores: SqliteStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

/** An agent whose turn yields `before`, waits for `midway` to resolve (another node acts then), then yields `after`. */
const agentOf = (before: AgentEvent[], midway: () => Promise<void>, after: AgentEvent[]): AgentSession =>
  ({
    async *turn() {
      yield* before
      await midway()
      yield* after
    },
  }) as unknown as AgentSession

async function twoNodes() {
  const store = new SqliteStore(path.join(tempDir('claim-'), 'gw.db'))
  stores.push(store)
  await store.registerNode(nodeRecord('node_a'))
  await store.registerNode(nodeRecord('node_b'))
  await store.createSession(newSession('ses_a'), 'node_a')
  return store
}

/** node_a's turn on ses_a, queued with the first claim, and how node_a runs it (takenOver and recorded given). */
async function staleTurnSetup() {
  const store = await twoNodes()
  const log = new EventLog(store)
  const state = new SessionState(store, log, () => true)
  const turn = queuedTurn('ses_a', [{ type: 'text', text: 'hi' }])
  await store.createTurn(turn, firstClaim)
  const hooks = (
    takenOver: (err: SessionTakenOver) => Promise<void>,
    recorded: () => void = () => {},
  ): Parameters<typeof runTurn>[0] => ({
    log,
    store,
    claim: firstClaim,
    markRunning: (patch) => state.startTurn('ses_a', turn.id, patch, firstClaim),
    markEnded: (patch, at, ended, end) =>
      state.completeTurn('ses_a', turn.id, patch, at, ended, firstClaim, end),
    beforeStart: async () => {},
    takenOver,
    turnEnded: () => {},
    recorded,
  })
  return { store, log, turn, hooks }
}

describe('a session turn on a node whose claim went stale', () => {
  it('is not recorded when another node took the session over mid-turn: the taker keeps its record', async () => {
    const { store, turn, hooks } = await staleTurnSetup()
    const refusals: SessionTakenOver[] = []
    let recorded = false
    const owned = await runTurn(
      hooks(
        async (err) => void refusals.push(err),
        () => {
          recorded = true
        },
      ),
      'ses_a',
      agentOf([{ type: 'turn.started', turnId: 'agent-turn-1' }], async () => {
        // node_a stalls here; node_b takes its sessions over and fails the turn (session-recovery.ts)
        const [taken] = await store.takeOverSessions(['node_a'], 'node_b')
        expect(taken?.id).toBe('ses_a')
        await store.updateTurn(turn.id, { status: 'failed', error: 'the server stopped' })
        await setStateAlone(store, 'ses_a', { status: 'idle', at: new Date().toISOString() })
      }, [
        { type: 'item.completed', item: { id: 'i1', type: 'agent_message', text: 'late' } },
        { type: 'turn.completed', turnId: 'agent-turn-1', status: 'completed', usage: null },
      ]),
      turn,
      new AbortController().signal,
    )
    expect(owned).toBe(false)
    expect(recorded).toBe(false)
    expect(refusals).toHaveLength(1)
    expect(refusals[0]).toMatchObject({
      sessionId: 'ses_a',
      owner: 'node_b',
      status: 503,
      code: 'session_taken_over',
    })
    // the turn as node_b recorded it; the session not counted nor moved by node_a
    expect(await store.getTurn(turn.id)).toMatchObject({ status: 'failed', finalResponse: null })
    expect(await store.getSession('ses_a')).toMatchObject({ status: 'idle', turnCount: 0 })
    const types = (await store.eventsAfter('ses_a', 0, 100)).map((e) => e.type)
    expect(types).not.toContain('turn.completed')
  })

  it("lets go as soon as one of its events is refused: none of the turn's events after the takeover is stored", async () => {
    const { store, log, turn, hooks } = await staleTurnSetup()
    const controller = new AbortController()
    const refusals: SessionTakenOver[] = []
    let aborted = false
    // after the takeover the agent goes on talking, then waits (for a long tool call, say) until it is stopped
    const agent = {
      async *turn(_input: unknown, signal: AbortSignal) {
        yield { type: 'turn.started', turnId: 'agent-turn-1' } as AgentEvent
        yield {
          type: 'item.completed',
          item: { id: 'i0', type: 'agent_message', text: 'early' },
        } as AgentEvent
        await log.commitNow()
        await store.takeOverSessions(['node_a'], 'node_b')
        for (const text of ['late 1', 'late 2'])
          yield { type: 'item.completed', item: { id: text, type: 'agent_message', text } } as AgentEvent
        const stopped = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()))
        aborted =
          (await settledWithin(
            stopped.then(() => true),
            10_000,
          )) === true
      },
    } as unknown as AgentSession
    const owned = await runTurn(
      // as SessionManager.letGo: the held turn is interrupted (once, however many refusals come)
      hooks(async (err) => {
        refusals.push(err)
        controller.abort()
      }),
      'ses_a',
      agent,
      turn,
      controller.signal,
    )
    expect(owned).toBe(false)
    // let go on the refused event, while the agent still worked (not only at the turn's end)
    expect(aborted).toBe(true)
    expect(refusals[0]).toMatchObject({ sessionId: 'ses_a', owner: 'node_b', code: 'session_taken_over' })
    const texts = (await store.eventsAfter('ses_a', 0, 100)).map((e) =>
      e.type === 'item.completed' && e.item.type === 'agent_message' ? e.item.text : e.type,
    )
    expect(texts).toContain('early')
    expect(texts.filter((t) => t.startsWith('late'))).toEqual([])
  })

  it('refuses every session write carrying a claim older than the newest claim or takeover', async () => {
    const store = await twoNodes()
    const claimB = await store.claimSession('ses_a', 'node_b')
    expect(claimB).toBe(firstClaim + 1)
    const turn = queuedTurn('ses_a', [{ type: 'text', text: 'hi' }])
    await expect(store.createTurn(turn, firstClaim)).rejects.toBeInstanceOf(SessionTakenOver)
    expect(await store.listTurns('ses_a')).toEqual([])
    await store.createTurn(turn, claimB)
    const at = new Date().toISOString()
    await expect(setStateAlone(store, 'ses_a', { status: 'running', at }, firstClaim)).rejects.toThrow(
      /taken over by node node_b/,
    )
    expect((await store.getSession('ses_a'))?.status).toBe('idle')
    // node_a takes node_b's sessions over: node_b's claim is stale now, node_a's old one still is
    const [taken] = await store.takeOverSessions(['node_b'], 'node_a')
    expect(taken?.id).toBe('ses_a')
    await expect(store.updateTurn(turn.id, { status: 'running' }, undefined, claimB)).rejects.toBeInstanceOf(
      SessionTakenOver,
    )
    await expect(
      store.completeTurn(turn.id, { status: 'completed' }, at, 'idle', firstClaim),
    ).rejects.toBeInstanceOf(SessionTakenOver)
    expect(await store.getTurn(turn.id)).toMatchObject({ status: 'queued' })
    expect((await store.getSession('ses_a'))?.turnCount).toBe(0)
  })
})
