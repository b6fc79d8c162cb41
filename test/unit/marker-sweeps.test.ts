import { describe, expect, it, vi } from 'vitest'
import { MarkerSweeps } from '../../src/process/marker-sweeps.js'

type Signals = Readonly<Record<string, NodeJS.Signals>>

/** A signaller whose passes the test sees come and answers (with the markers it says it found). */
function recordingSignaller() {
  const passes: Array<{ signals: Signals; answer: (found: string[]) => void }> = []
  let arrived: () => void = () => {}
  const signaller = (signals: Signals) =>
    new Promise<string[]>((answer) => {
      passes.push({ signals, answer })
      arrived()
    })
  /** Resolves once `n` passes were asked for in all. */
  const passesMade = (n: number) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (passes.length >= n) resolve()
        else arrived = check
      }
      check()
    })
  return { signaller, passes, passesMade }
}

const markers = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`)

describe('MarkerSweeps (one /proc pass for every marker due)', () => {
  it('500 programs that end at once share one pass', async () => {
    const { signaller, passes, passesMade } = recordingSignaller()
    const sweeps = new MarkerSweeps(signaller, 50)
    const ended = markers(500, 'run')
    for (const marker of ended) sweeps.end(marker, 1000)
    await passesMade(1)
    expect(passes).toHaveLength(1)
    expect(Object.keys(passes[0]!.signals).sort()).toEqual([...ended].sort())
    expect(new Set(Object.values(passes[0]!.signals))).toEqual(new Set(['SIGTERM']))
    passes[0]!.answer([])
    // none found: each sweep is over, no SIGKILL pass follows
    await expect.poll(() => sweeps.markers()).toEqual([])
    expect(sweeps.passes).toBe(1)
  })

  it('what ends while a pass is under way waits for the next, and all of it shares that one', async () => {
    const { signaller, passes, passesMade } = recordingSignaller()
    const sweeps = new MarkerSweeps(signaller, 0)
    sweeps.end('first', 1000)
    await passesMade(1)
    const later = markers(200, 'later')
    for (const marker of later) sweeps.end(marker, 1000)
    // a second end of a marker whose pass is under way is covered by it
    sweeps.end('first', 1000)
    expect(sweeps.markers().sort()).toEqual(['first', ...later].sort())
    expect(passes).toHaveLength(1)
    passes[0]!.answer([])
    await passesMade(2)
    expect(Object.keys(passes[1]!.signals).sort()).toEqual([...later].sort())
    passes[1]!.answer([])
    await expect.poll(() => sweeps.markers()).toEqual([])
    expect(passes).toHaveLength(2)
  })

  it('a marker found gets its SIGKILL pass after its grace (found again then); one not found is done', async () => {
    const { signaller, passes, passesMade } = recordingSignaller()
    const sweeps = new MarkerSweeps(signaller, 0)
    sweeps.end('daemon', 30)
    sweeps.end('clean', 30)
    await passesMade(1)
    const answered = performance.now()
    passes[0]!.answer(['daemon'])
    await passesMade(2)
    expect(performance.now() - answered).toBeGreaterThanOrEqual(29)
    expect(passes[1]!.signals).toEqual({ daemon: 'SIGKILL' })
    // until its SIGKILL pass is over it is still pending (the exit sweep ends it too)
    expect(sweeps.markers()).toEqual(['daemon'])
    sweeps.end('daemon', 30)
    passes[1]!.answer(['daemon'])
    await expect.poll(() => sweeps.markers()).toEqual([])
    expect(passes).toHaveLength(2)
  })

  it('a SIGKILL pass due while a pass is under way shares the next one with what ended meanwhile', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] })
    try {
      const { signaller, passes } = recordingSignaller()
      const sweeps = new MarkerSweeps(signaller, 0)
      sweeps.end('daemon', 20)
      await vi.advanceTimersByTimeAsync(0)
      passes[0]!.answer(['daemon'])
      sweeps.end('busy', 1000)
      await vi.advanceTimersByTimeAsync(0)
      expect(passes[1]!.signals).toEqual({ busy: 'SIGTERM' })
      // the daemon's grace ends while that pass is under way: its SIGKILL waits for the next
      await vi.advanceTimersByTimeAsync(30)
      expect(passes).toHaveLength(2)
      sweeps.end('next', 1000)
      passes[1]!.answer([])
      await vi.advanceTimersByTimeAsync(0)
      expect(passes).toHaveLength(3)
      expect(passes[2]!.signals).toEqual({ daemon: 'SIGKILL', next: 'SIGTERM' })
      passes[2]!.answer([])
      await vi.advanceTimersByTimeAsync(0)
      expect(sweeps.markers()).toEqual([])
    } finally {
      vi.useRealTimers()
    }
  })

  it('a pass that fails leaves nothing pending', async () => {
    const sweeps = new MarkerSweeps(() => Promise.reject(new Error('no /proc')), 0)
    sweeps.end('a', 1000)
    await expect.poll(() => sweeps.markers()).toEqual([])
    expect(sweeps.passes).toBe(1)
  })
})
