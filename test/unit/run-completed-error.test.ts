import { describe, expect, it } from 'vitest'
import { runCompletedAfter } from '../../src/protocol/run-completed.js'

const noResult = { ok: false, finalResponse: null, usage: null }

/**
 * A run whose agent process ended without a word of why (`kill -9` of a claude or gemini child mid-run) says how it
 * ended: before, its error was `process ended: exited`, whatever killed it.
 */
describe("a failed run's error when its driver gave none", () => {
  it('names the signal that killed the agent process', () => {
    const ended = runCompletedAfter({ exitCode: null, signal: 'SIGKILL', reason: 'exited' }, noResult)
    expect(ended).toMatchObject({ status: 'failed', signal: 'SIGKILL' })
    expect(ended.error).toBe('the agent process was killed (SIGKILL) before it finished')
  })

  it('names its exit code; a driver that said why keeps its words', () => {
    const exited = { exitCode: 3, signal: null, reason: 'exited' as const }
    expect(runCompletedAfter(exited, noResult).error).toBe('the agent process exited with code 3')
    expect(runCompletedAfter(exited, { ...noResult, error: 'model request failed' }).error).toBe(
      'model request failed',
    )
  })
})
