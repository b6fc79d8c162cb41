import { describe, expect, it } from 'vitest'
import { eventFrames } from '../../src/http/compat/agent-stream-event-frames.js'
import type { StoredEvent } from '../../src/protocol/events.js'

/**
 * A session turn's end as /agent/stream frames (seed 004): an interrupted turn the gateway ended (its agent did not
 * stop) says why in its status frame's `details`, which the seed's `status` frame allows; every other end keeps
 * the original's frames exactly.
 */
const ctx = (cancelling: boolean) => ({ cancelling, commandId: (id: string) => `s-cmd-${id}` })
const stored = (ev: Record<string, unknown>) =>
  ({ seq: 9, at: '2026-12-05T00:00:00.000Z', sessionId: 'ses_a', turnId: 'turn_a', ...ev }) as StoredEvent
const why = 'the agent did not stop the turn within 5300 ms of the interrupt; the gateway ended it'

describe('eventFrames of a turn.completed', () => {
  it('interrupted by the gateway: the status frame carries the error in its details', () => {
    const ended = stored({ type: 'turn.completed', status: 'interrupted', usage: null, error: why })
    expect(eventFrames(ended, ctx(true))).toEqual([
      { type: 'status', message: 'Agent run successfully aborted.', details: { error: why } },
    ])
    expect(eventFrames(ended, ctx(false))).toEqual([
      { type: 'status', message: 'Agent run interrupted.', details: { error: why } },
    ])
  })

  it("interrupted by its agent, or completed: the original's frames, no details", () => {
    const interrupted = stored({ type: 'turn.completed', status: 'interrupted', usage: null })
    expect(eventFrames(interrupted, ctx(true))).toEqual([
      { type: 'status', message: 'Agent run successfully aborted.' },
    ])
    expect(
      eventFrames(stored({ type: 'turn.completed', status: 'completed', usage: null }), ctx(false)),
    ).toEqual([
      { type: 'status', message: 'Agent idle...' },
      { type: 'status', message: 'Agent run completed.' },
    ])
  })
})
