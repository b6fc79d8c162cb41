import { describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import { eventsOfTurn } from '../../web/src/turn-events.js'

const at = '2026-12-05T00:00:00.000Z'
const stored = (seq: number, ev: Record<string, unknown>) =>
  ({ ...ev, seq, at, sessionId: 'ses_1' }) as StoredEvent
const text = (t: string) => [{ type: 'text', text: t }]

describe("console: a turn's events", () => {
  it('leaves out a withdrawn steer (refused, or failed on its way) and shows the withdrawal where it belongs', () => {
    const events = [
      stored(1, { type: 'turn.started', turnId: 't1' }),
      stored(2, { type: 'turn.steered', turnId: 't1', input: text('lost') }),
      stored(3, { type: 'turn.steer_failed', turnId: 't1', steeredSeq: 2, error: 'app-server died' }),
      stored(4, { type: 'turn.steered', turnId: 't1', input: text('kept') }),
      stored(5, { type: 'turn.steered', turnId: 't1', input: text('too late') }),
      stored(6, { type: 'turn.completed', turnId: 't1', status: 'completed', usage: null }),
      stored(7, { type: 'turn.steer_refused', turnId: 't1', steeredSeq: 5, queuedTurnId: 't2' }),
      stored(8, { type: 'turn.started', turnId: 't2' }),
      stored(9, { type: 'turn.completed', turnId: 't2', status: 'completed', usage: null }),
    ]
    expect(eventsOfTurn(events, 't1').map((ev) => ev.seq)).toEqual([1, 3, 4, 6])
    expect(eventsOfTurn(events, 't2').map((ev) => ev.seq)).toEqual([7, 8, 9])
  })
})
