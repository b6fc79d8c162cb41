import { describe, expect, it } from 'vitest'
import { startedTurn } from '../../src/agents/started-turn.js'

/** A turn that records when it was started, what it yielded and whether it was ended by its reader. */
function recordedTurn(events: string[], log: string[]) {
  return (async function* () {
    log.push('started')
    try {
      for (const ev of events) {
        log.push(`yield ${ev}`)
        yield ev
      }
    } finally {
      log.push('ended')
    }
  })()
}

describe('startedTurn', () => {
  it('starts the turn before the announcement is read, then yields the announcement and every event', async () => {
    const log: string[] = []
    const seen: string[] = []
    for await (const ev of startedTurn('session', recordedTurn(['a', 'b'], log))) {
      log.push(`read ${ev}`)
      seen.push(ev)
    }
    expect(seen).toEqual(['session', 'a', 'b'])
    expect(log).toEqual(['started', 'yield a', 'read session', 'read a', 'yield b', 'read b', 'ended'])
  })

  it('a reader that stops at the announcement ends the turn before its own return resolves', async () => {
    const log: string[] = []
    const run = startedTurn('session', recordedTurn(['a', 'b'], log))
    expect(await run.next()).toEqual({ done: false, value: 'session' })
    await run.return(undefined)
    expect(log).toEqual(['started', 'yield a', 'ended'])
  })

  it('a reader that stops in the middle ends the turn', async () => {
    const log: string[] = []
    for await (const ev of startedTurn('session', recordedTurn(['a', 'b', 'c'], log))) if (ev === 'a') break
    expect(log).toEqual(['started', 'yield a', 'ended'])
  })

  it("a turn whose first step fails fails the run's reading after the announcement", async () => {
    const failing = (async function* () {
      yield* []
      throw new Error('no turn')
    })()
    const run = startedTurn('session', failing)
    expect(await run.next()).toEqual({ done: false, value: 'session' })
    await expect(run.next()).rejects.toThrow('no turn')
  })
})
