import { describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
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
