import { describe, expect, it } from 'vitest'
import { forkSource, holdsHistory } from '../../src/core/held-history.js'
import type { Session } from '../../src/protocol/sessions.js'
import { newSession } from '../contract/store-contract.js'

/** A stored session (the store contract's shape: `id`'s agent session is `thread-<id>`). */
const session = newSession
const fork = (id: string, from: string, forkedAtTurn: number | undefined, turnCount = 0) =>
  session(id, { forkedFrom: from, turnCount, ...(forkedAtTurn !== undefined ? { forkedAtTurn } : {}) })
const storeOf = (...sessions: Session[]) => {
  const byId = new Map(sessions.map((s) => [s.id, s]))
  return async (id: string) => byId.get(id)
}

describe('a fork chain: the history a fork that never ran a turn holds, and where it is copied from again', () => {
  it("a fork of a fresh fork: its parent held the root's turns; copied from the root, cut at the first fork point", async () => {
    const get = storeOf(session('root', { turnCount: 3 }), fork('a', 'root', 2), fork('b', 'a', 0))
    const b = (await get('b'))!
    expect(await holdsHistory(b, get)).toBe(true)
    // before: its parent's conversation cut at its own fork point, 0 turns (nothing: its history lost)
    expect(await forkSource(b, get)).toMatchObject({ source: { id: 'root' }, turns: 2 })
  })

  it("a fork of a fork that ran turns: that one's conversation, cut at every fork point up the chain added up", async () => {
    // c's parent b holds 2 turns of root (a's fork point 2, b's 0) and ran 3 of its own; c was forked after 1
    const get = storeOf(
      session('root', { turnCount: 5 }),
      fork('a', 'root', 2),
      fork('b', 'a', 0, 3),
      fork('c', 'b', 1),
      fork('d', 'c', 0),
    )
    // before: b's conversation cut at 1 turn, which is root's first (b's own first is its third prompt)
    expect(await forkSource((await get('c'))!, get)).toMatchObject({ source: { id: 'b' }, turns: 3 })
    expect(await forkSource((await get('d'))!, get)).toMatchObject({ source: { id: 'b' }, turns: 3 })
  })

  it('a fork point up the chain not kept: the whole conversation (no cut); no source without its parent', async () => {
    const get = storeOf(session('root', { turnCount: 2 }), fork('a', 'root', undefined), fork('b', 'a', 0))
    const b = await forkSource((await get('b'))!, get)
    expect(b).toEqual({ source: expect.objectContaining({ id: 'root' }) })
    expect(await forkSource(fork('orphan', 'gone', 1), get)).toBeUndefined()
    // an ancestor beyond the source gone: its turns cannot be counted
    const partial = storeOf(fork('a', 'gone', 1, 2), fork('b', 'a', 1))
    expect(await forkSource((await partial('b'))!, partial)).toEqual({
      source: expect.objectContaining({ id: 'a' }),
    })
  })

  it('none for a session that is no fork, or a fork that ran a turn (its own conversation holds it)', async () => {
    const get = storeOf(session('root', { turnCount: 1 }), fork('a', 'root', 1, 1))
    expect(await forkSource((await get('root'))!, get)).toBeUndefined()
    expect(await forkSource((await get('a'))!, get)).toBeUndefined()
  })
})
