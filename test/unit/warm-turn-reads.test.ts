import fs from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { AgentSession, TurnInput } from '../../src/agents/session.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import {
  cleanUpFakeAgentSessions,
  sessionsOnFakeAgent,
  tempDirForTest,
} from '../support/fake-agent-sessions.js'
import { setStateAlone } from '../support/set-state.js'

/**
 * What a warm turn reads (SessionManager.startTurn): a session held here is checked by its state and its owner
 * (one read), not read in full; whatever another node changed (an archive, a reopen) is still seen.
 */

/** A real SQLite store that counts its reads of a session's document, state and owner. */
class CountingStore extends SqliteStore {
  documentReads = 0
  stateReads = 0
  ownerReads = 0
  override async getSession(id: string) {
    this.documentReads++
    return super.getSession(id)
  }
  override async sessionState(id: string) {
    this.stateReads++
    return super.sessionState(id)
  }
  override async ownerOf(id: string) {
    this.ownerReads++
    return super.ownerOf(id)
  }
}

const hi: TurnInput = [{ type: 'text', text: 'hi' }]

function fakeAgent(): AgentSession {
  return {
    async *turn() {
      yield { type: 'turn.started', turnId: 'agent-turn' }
      yield { type: 'item.completed', item: { id: 'm', type: 'agent_message', text: 'ok' } }
      yield { type: 'turn.completed', turnId: 'agent-turn', status: 'completed', usage: null }
    },
    close: async () => {},
  } as unknown as AgentSession
}

cleanUpFakeAgentSessions()

async function setup() {
  let opened = 0
  const { store, sessions, cwd } = await sessionsOnFakeAgent({
    dirPrefix: 'warm-reads-',
    makeStore: (file) => new CountingStore(file),
    open: () => fakeAgent(),
    resume: () => {
      opened++
      return fakeAgent()
    },
  })
  const turn = async () => {
    const t = await sessions.waitTurn((await sessions.startTurn('ses_a', hi)).id)
    await sessions.idle()
    return t
  }
  return { store, sessions, turn, opened: () => opened, cwd }
}

describe('a warm session turn', () => {
  it("reads the session's state, not its document, once the session is held here", async () => {
    const { store, turn, opened } = await setup()
    expect(await turn()).toMatchObject({ status: 'completed' })
    expect(opened()).toBe(1)
    store.documentReads = 0
    expect(await turn()).toMatchObject({ status: 'completed' })
    expect(await turn()).toMatchObject({ status: 'completed' })
    expect(store.documentReads).toBe(0)
    expect(opened()).toBe(1)
  })

  it('reads its state and its owner in one read (sessionState), not a second one for the owner', async () => {
    const { store, turn } = await setup()
    await turn()
    store.stateReads = 0
    store.ownerReads = 0
    expect(await turn()).toMatchObject({ status: 'completed' })
    // one: before the turn goes to the agent (SessionManager's check of the state and the holder). Its start and
    // its end read the state inside their own transactions (the store steps take the state as a function of that
    // read: createTurnWithEvents, completeTurnWithEvents), not by a sessionState call of their own
    expect(store.stateReads).toBe(1)
    expect(store.ownerReads).toBe(0)
  })

  it('sees an archive another node stored: 409, nothing reaches the agent', async () => {
    const { store, sessions, turn } = await setup()
    await turn()
    await setStateAlone(store, 'ses_a', { status: 'archived', at: new Date().toISOString() })
    await expect(sessions.startTurn('ses_a', hi)).rejects.toMatchObject({ code: 'conflict' })
    expect(await store.listTurns('ses_a')).toHaveLength(1)
  })

  it('sees that another node reopened the session since: the copy held here is dropped and the session reopened', async () => {
    const { store, turn, opened } = await setup()
    await turn()
    await store.claimSession('ses_a', 'node_b')
    expect(await turn()).toMatchObject({ status: 'completed' })
    expect(opened()).toBe(2)
    expect(await store.ownerOf('ses_a')).toBe('node_a')
  })

  it('confines the cwd again: a session whose directory became a symlink out of the workspace is refused', async () => {
    const { sessions, turn, cwd } = await setup()
    await turn()
    const outside = tempDirForTest('outside-')
    fs.rmSync(cwd, { recursive: true })
    fs.symlinkSync(outside, cwd)
    await expect(sessions.startTurn('ses_a', hi)).rejects.toThrow()
  })
})
