import { describe, expect, it } from 'vitest'
import { forwardTimeoutMs } from '../../src/core/cluster-sessions.js'
import { heldEventWaitMs } from '../../src/core/fork-point.js'

describe('forwardTimeoutMs', () => {
  // before: a call forwarded to a session's owner was bounded by CODEX_REQUEST_TIMEOUT alone, as the owner's own
  // codex request: a steer that timed out at codex reached the client as 503 outcome_unknown, not as the owner's
  // 500 saying it was withdrawn
  it("outlasts the owner's codex request and what the owner does after it", () => {
    for (const seconds of [1, 60, 600]) {
      expect(forwardTimeoutMs(seconds)).toBeGreaterThan(seconds * 1000 + heldEventWaitMs)
    }
  })
})
