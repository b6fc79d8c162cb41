import { describe, expect, it } from 'vitest'
import { forkSource, holdsHistory } from '../../src/core/held-history.js'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { newSession } from '../contract/store-contract.js'

/** A stored session (the store contract's shape: `id`'s agent session is `thread-<id>`). */
const session = newSession
const fork = (id: string, from: string, forkedAtTurn: number | undefined, turnCount = 0) =>
  session(id, { forkedFrom: from, turnCount, ...(forkedAtTurn !== undefined ? { forkedAtTurn } : {}) })
/** When a session's turn `n` started (null: it ended while queued, never ran). */
const startOf = (id: string, n: number) => `2026-01-01T00:0${n}:00.000Z#${id}`
const storeOf = (...sessions: Session[]) => {
  const byId = new Map(sessions.map((s) => [s.id, s]))
  return async (id: string) => byId.get(id)
}
/** Each session's turns: `turnCount` of them ran (started), with one that ended queued after the first. */
const turnsOf =
  (get: (id: string) => Promise<Session | undefined>) =>
  async (id: string): Promise<Pick<Turn, 'startedAt'>[]> => {
    const count = (await get(id))?.turnCount ?? 0
    const ran = Array.from({ length: count }, (_, n) => ({ startedAt: startOf(id, n + 1) }))
    return ran.length > 0 ? [ran[0]!, { startedAt: null }, ...ran.slice(1)] : []
  }
const sourceOf = async (id: string, get: (id: string) => Promise<Session | undefined>) =>
  forkSource((await get(id))!, get, turnsOf(get))

describe('a fork chain: the history a fork that never ran a turn holds, and where it is copied from again', () => {
  it("a fork of a fresh fork: its parent held the root's turns; the root's, before its turn after the first fork point", async () => {
    const get = storeOf(session('root', { turnCount: 3 }), fork('a', 'root', 2), fork('b', 'a', 0))
    expect(await holdsHistory((await get('b'))!, get)).toBe(true)
    // before: its parent's conversation cut at its own fork point, 0 turns (nothing: its history lost); then a
    // count of the root's prompts (2), which a turn cancelled before Claude wrote its prompt shifted
    expect(await sourceOf('b', get)).toEqual({
      source: expect.objectContaining({ id: 'root' }),
      before: startOf('root', 3),
    })
  })

  it("a fork of a fork that ran turns: that one's, before its turn after the fork point, whatever it inherited", async () => {
    // c's parent b holds 2 turns of root (a's fork point 2, b's 0) and ran 3 of its own; c was forked after 1
    const get = storeOf(
      session('root', { turnCount: 5 }),
      fork('a', 'root', 2),
      fork('b', 'a', 0, 3),
      fork('c', 'b', 1),
      fork('d', 'c', 0),
    )
    // before: b's conversation cut at 3 prompts (2 + 1), wrong when b's holds more of root's (an older gateway's
    // `--fork-session` copy) or a turn of the chain left no prompt
    const c = { source: expect.objectContaining({ id: 'b' }), before: startOf('b', 2) }
    expect(await sourceOf('c', get)).toEqual(c)
    expect(await sourceOf('d', get)).toEqual(c)
  })

  it('a fork point with no turn started after it: all of the source; a fork of the root at 0: none of it', async () => {
    const get = storeOf(session('root', { turnCount: 2 }), fork('a', 'root', 2), fork('b', 'root', 0))
    expect(await sourceOf('a', get)).toEqual({ source: expect.objectContaining({ id: 'root' }) })
    expect(await sourceOf('b', get)).toEqual({
      source: expect.objectContaining({ id: 'root' }),
      before: startOf('root', 1),
    })
  })

  it('a fork point up the chain not kept: the whole conversation (no cut); without the chain, what was passed', async () => {
    const get = storeOf(session('root', { turnCount: 2 }), fork('a', 'root', undefined), fork('b', 'a', 0))
    expect(await sourceOf('b', get)).toEqual({ source: expect.objectContaining({ id: 'root' }) })
    expect(await sourceOf('orphan', storeOf(fork('orphan', 'gone', 1)))).toBeUndefined()
    // an ancestor beyond the source gone: not needed
    const partial = storeOf(fork('a', 'gone', 1, 2), fork('b', 'a', 1), fork('c', 'a', 0))
    expect(await sourceOf('b', partial)).toEqual({
      source: expect.objectContaining({ id: 'a' }),
      before: startOf('a', 2),
    })
    // one at 0 whose parent is gone: what its parent held before its own first turn (its copy of its parent's)
    expect(await sourceOf('c', partial)).toEqual({
      source: expect.objectContaining({ id: 'a' }),
      before: startOf('a', 1),
    })
  })

  it('none for a session that is no fork, or a fork that ran a turn (its own conversation holds it)', async () => {
    const get = storeOf(session('root', { turnCount: 1 }), fork('a', 'root', 1, 1))
    expect(await sourceOf('root', get)).toBeUndefined()
    expect(await sourceOf('a', get)).toBeUndefined()
  })
})
