import { describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import { chainHistory, heldOf, type ListedTurn } from '../../web/src/fork-chain.js'
import { cutAtForkPoint, turnRunningAt } from '../../web/src/fork-cut.js'

const at = '2026-12-06T00:00:00.000Z'
const stored = (seq: number, ev: Record<string, unknown>) =>
  ({ ...ev, seq, at, sessionId: 'ses_1' }) as StoredEvent
const command = (id: string, status: string, output = '') => ({
  id,
  type: 'command_execution',
  command: `echo ${id}`,
  aggregatedOutput: output,
  exitCode: status === 'completed' ? 0 : null,
  status,
})
const message = (id: string, text: string) => ({ id, type: 'agent_message', text })

describe('console: what a fork holds of the turn its parent was running', () => {
  it('keeps what had completed, holds a running command as aborted without its output, drops a message still streaming', () => {
    const events = [
      stored(1, { type: 'turn.started', turnId: 't2' }),
      stored(2, { type: 'item.started', item: command('c1', 'in_progress') }),
      stored(3, { type: 'item.delta', itemId: 'c1', delta: 'one\n' }),
      stored(4, { type: 'item.completed', item: command('c1', 'completed', 'one\n') }),
      stored(5, { type: 'item.started', item: message('m1', '') }),
      stored(6, { type: 'item.delta', itemId: 'm1', delta: 'half a sent' }),
      stored(7, { type: 'item.started', item: command('c2', 'in_progress') }),
      stored(8, { type: 'item.delta', itemId: 'c2', delta: 'printed before the fork\n' }),
      stored(9, { type: 'item.delta', itemId: 'r1', delta: 'a delta of an item never started' }),
    ]
    const cut = cutAtForkPoint(events)
    expect(cut.events.map((ev) => ev.seq)).toEqual([1, 2, 3, 4, 7])
    expect([...cut.aborted]).toEqual(['c2'])
  })

  it('finds the turn that had started and not ended by the fork point', () => {
    const turns = [{ id: 't1' }, { id: 't2' }, { id: 't3' }]
    const events = [
      stored(1, { type: 'turn.started', turnId: 't1' }),
      stored(2, { type: 'turn.completed', turnId: 't1', status: 'completed', usage: null }),
      stored(3, { type: 'turn.started', turnId: 't2' }),
    ]
    expect(turnRunningAt(events, turns)?.id).toBe('t2')
    expect(turnRunningAt(events.slice(0, 2), turns)).toBeUndefined()
    const failed = [...events, stored(4, { type: 'turn.failed', turnId: 't2', error: 'boom' })]
    expect(turnRunningAt(failed, turns)).toBeUndefined()
  })
})

describe('console: the turns a fork holds from its chain of forks', () => {
  const ran = (id: string): ListedTurn => ({ id, startedAt: at })
  const neverRan = (id: string): ListedTurn => ({ id, startedAt: null })
  const ended = (seq: number, turnId: string) => [
    stored(seq, { type: 'turn.started', turnId }),
    stored(seq + 1, { type: 'item.completed', item: message(`m-${turnId}`, `answer ${turnId}`) }),
    stored(seq + 2, { type: 'turn.completed', turnId, status: 'completed', usage: null }),
  ]
  const ids = (turns: { turn: { id: string }; sessionId: string }[]) =>
    turns.map((t) => `${t.sessionId}/${t.turn.id}`)

  it('counts the turns its parent ran, as the gateway does: not one that ended queued without running', () => {
    // t2 was stopped while queued (listed, never ran, no events); the fork point counts t1 and t3
    const parent = { id: 'p', turns: [ran('t1'), neverRan('t2'), ran('t3'), ran('t4')] }
    const events = [...ended(1, 't1'), ...ended(4, 't3')]
    const held = heldOf({ parent, forkedAtTurn: 2, events })
    expect(ids(held)).toEqual(['p/t1', 'p/t3'])
    expect(held[1]!.events.map((ev) => ev.seq)).toEqual([4, 5, 6])
    // forked while t3 ran: t1 held, t3 cut at the fork point
    const running = heldOf({
      parent,
      forkedAtTurn: 1,
      events: [...ended(1, 't1'), ...ended(4, 't3').slice(0, 2)],
    })
    expect(ids(running)).toEqual(['p/t1', 'p/t3'])
    expect(running.map((t) => t.cut !== undefined)).toEqual([false, true])
  })

  it("a fork of a fresh fork holds what that one held: its grandparent's turns, the last cut when it was", () => {
    const p = { id: 'p', turns: [ran('t1'), ran('t2')] }
    const a = { id: 'a', turns: [neverRan('a1')] }
    // a was forked while p ran t2; b was forked from a before a ran any turn (a's a1 ended queued)
    const links = [
      { parent: a, forkedAtTurn: 0, events: [] },
      { parent: p, forkedAtTurn: 1, events: [...ended(1, 't1'), ...ended(4, 't2').slice(0, 2)] },
    ]
    const { turns, cut } = chainHistory(links)
    expect(ids(turns)).toEqual(['p/t1', 'p/t2'])
    expect(cut).toBe(true)
    // a fork of a fork that ran turns: the grandparent's up to the first fork point, then the parent's own
    const a2 = { id: 'a', turns: [ran('a1'), ran('a2')] }
    const own = chainHistory([
      { parent: a2, forkedAtTurn: 1, events: ended(1, 'a1') },
      { parent: p, forkedAtTurn: 2, events: [...ended(1, 't1'), ...ended(4, 't2')] },
    ])
    expect(ids(own.turns)).toEqual(['p/t1', 'p/t2', 'a/a1'])
    expect(own.cut).toBe(false)
  })
})
