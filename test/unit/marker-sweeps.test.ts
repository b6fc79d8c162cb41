import { describe, expect, it, vi } from 'vitest'
import { type MarkerSignal, MarkerSweeps } from '../../src/process/marker-sweeps.js'
import type { PidWindow } from '../../src/process/pid-window.js'

type Signals = Readonly<Record<string, MarkerSignal>>

/** A signaller whose passes the test sees come and answers (with the markers it says it found). */
function recordingSignaller() {
  const passes: Array<{
    signals: Signals
    since: number
    windows: readonly PidWindow[] | undefined
    answer: (found: string[]) => void
  }> = []
  let arrived: () => void = () => {}
  const signaller = (signals: Signals, since: number, windows?: readonly PidWindow[]) =>
    new Promise<string[]>((answer) => {
      passes.push({ signals, since, windows, answer })
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
    let over = 0
    for (const marker of ended) void sweeps.end(marker, 1000).then(() => over++)
    await passesMade(1)
    expect(passes).toHaveLength(1)
    expect(Object.keys(passes[0]!.signals).sort()).toEqual([...ended].sort())
    expect(new Set(Object.values(passes[0]!.signals))).toEqual(new Set(['SIGTERM']))
    expect(over).toBe(0)
    passes[0]!.answer([])
    // none found: each sweep is over (each end resolves), no other pass follows
    await expect.poll(() => over).toBe(500)
    expect(sweeps.markers()).toEqual([])
    expect(sweeps.passes).toBe(1)
  })

  it('what ends while a pass is under way waits for the next, and all of it shares that one', async () => {
    const { signaller, passes, passesMade } = recordingSignaller()
    const sweeps = new MarkerSweeps(signaller, 0)
    sweeps.end('first', 1000)
    await passesMade(1)
    const later = markers(200, 'later')
    for (const marker of later) sweeps.end(marker, 1000)
    // a second end of a marker whose pass is under way is covered by it: the same sweep, over at once with it
    expect(sweeps.end('first', 1000)).toBe(sweeps.end('first', 1000))
    expect(sweeps.markers().sort()).toEqual(['first', ...later].sort())
    expect(passes).toHaveLength(1)
    passes[0]!.answer([])
    await passesMade(2)
    expect(Object.keys(passes[1]!.signals).sort()).toEqual([...later].sort())
    passes[1]!.answer([])
    await expect.poll(() => sweeps.markers()).toEqual([])
    expect(passes).toHaveLength(2)
  })

  it('a marker found is looked for again (signal 0) until none is left; its end waits for that', async () => {
    const { signaller, passes, passesMade } = recordingSignaller()
    const sweeps = new MarkerSweeps(signaller, 0)
    let over = false
    void sweeps.end('leftover', 60_000).then(() => {
      over = true
    })
    await passesMade(1)
    expect(passes[0]!.signals).toEqual({ leftover: 'SIGTERM' })
    passes[0]!.answer(['leftover'])
    await passesMade(2)
    // a look: SIGTERM is not sent again
    expect(passes[1]!.signals).toEqual({ leftover: 0 })
    passes[1]!.answer(['leftover'])
    await passesMade(3)
    expect(passes[2]!.signals).toEqual({ leftover: 0 })
    expect(over).toBe(false)
    expect(sweeps.markers()).toEqual(['leftover'])
    passes[2]!.answer([])
    await expect.poll(() => over).toBe(true)
    expect(sweeps.markers()).toEqual([])
    expect(passes).toHaveLength(3)
  })

  it('what outlives the grace gets SIGKILL passes (found again each) until none is left', async () => {
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'],
    })
    try {
      const { signaller, passes } = recordingSignaller()
      const sweeps = new MarkerSweeps(signaller, 100)
      let over = false
      void sweeps.end('stubborn', 500)
      void sweeps.end('clean', 500).then(() => {
        over = true
      })
      await vi.advanceTimersByTimeAsync(0)
      expect(passes[0]!.signals).toEqual({ stubborn: 'SIGTERM', clean: 'SIGTERM' })
      passes[0]!.answer(['stubborn'])
      await vi.advanceTimersByTimeAsync(0)
      // one not found is done
      expect(over).toBe(true)
      // looks at 100, 300 (200 later), then SIGKILL at the grace's end (500), not a look
      await vi.advanceTimersByTimeAsync(100)
      expect(passes.map((p) => p.signals)).toEqual([
        { stubborn: 'SIGTERM', clean: 'SIGTERM' },
        { stubborn: 0 },
      ])
      passes[1]!.answer(['stubborn'])
      await vi.advanceTimersByTimeAsync(200)
      expect(passes[2]!.signals).toEqual({ stubborn: 0 })
      passes[2]!.answer(['stubborn'])
      await vi.advanceTimersByTimeAsync(199)
      expect(passes).toHaveLength(3)
      await vi.advanceTimersByTimeAsync(1)
      expect(passes[3]!.signals).toEqual({ stubborn: 'SIGKILL' })
      // found by its SIGKILL pass (a child forked meanwhile, one not dead yet): SIGKILL again
      passes[3]!.answer(['stubborn'])
      await vi.advanceTimersByTimeAsync(100)
      expect(passes[4]!.signals).toEqual({ stubborn: 'SIGKILL' })
      expect(sweeps.markers()).toEqual(['stubborn'])
      passes[4]!.answer([])
      await vi.advanceTimersByTimeAsync(0)
      expect(sweeps.markers()).toEqual([])
      expect(passes).toHaveLength(5)
    } finally {
      vi.useRealTimers()
    }
  })

  it('SIGKILL passes that keep finding some stop after max(grace, 1 s): the end is not held forever', async () => {
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'],
    })
    try {
      const { signaller, passes } = recordingSignaller()
      const sweeps = new MarkerSweeps(signaller, 100)
      let over = false
      void sweeps.end('stuck', 0).then(() => {
        over = true
      })
      for (let i = 0; !over && i < 30; i++) {
        await vi.advanceTimersByTimeAsync(100)
        passes.at(-1)?.answer(['stuck'])
        await vi.advanceTimersByTimeAsync(0)
      }
      expect(over).toBe(true)
      const signals = passes.map((p) => p.signals.stuck)
      expect(signals[0]).toBe('SIGTERM')
      expect(new Set(signals.slice(1))).toEqual(new Set(['SIGKILL']))
      // 1 s of SIGKILL passes, one every 100 ms
      expect(signals.length).toBeGreaterThanOrEqual(10)
      expect(signals.length).toBeLessThanOrEqual(13)
    } finally {
      vi.useRealTimers()
    }
  })

  it('a SIGKILL pass due while a pass is under way shares the next one with what ended meanwhile', async () => {
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'],
    })
    try {
      const { signaller, passes } = recordingSignaller()
      const sweeps = new MarkerSweeps(signaller, 0)
      void sweeps.end('daemon', 20)
      await vi.advanceTimersByTimeAsync(0)
      passes[0]!.answer(['daemon'])
      void sweeps.end('busy', 1000)
      await vi.advanceTimersByTimeAsync(0)
      expect(passes[1]!.signals).toEqual({ busy: 'SIGTERM' })
      // the daemon's look (20 ms on, its grace's end too) comes while that pass is under way: it waits for the next
      await vi.advanceTimersByTimeAsync(30)
      expect(passes).toHaveLength(2)
      void sweeps.end('next', 1000)
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

  it('a lone end is swept at once, though a pass was just made; a third pass within the interval waits', async () => {
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'],
    })
    try {
      const { signaller, passes } = recordingSignaller()
      const sweeps = new MarkerSweeps(signaller, 100)
      let over = 0
      const end = (marker: string) => void sweeps.end(marker, 1000).then(() => over++)
      end('first')
      await vi.advanceTimersByTimeAsync(0)
      passes[0]!.answer([])
      await vi.advanceTimersByTimeAsync(0)
      expect(over).toBe(1)
      // a run that ends right after another's pass: its pass starts now, not at the interval's end
      end('second')
      await vi.advanceTimersByTimeAsync(0)
      expect(passes).toHaveLength(2)
      passes[1]!.answer([])
      await vi.advanceTimersByTimeAsync(0)
      expect(over).toBe(2)
      // two passes started within the interval: the next waits for it (a stream of ends stays bounded)
      end('third')
      await vi.advanceTimersByTimeAsync(99)
      expect(passes).toHaveLength(2)
      await vi.advanceTimersByTimeAsync(1)
      expect(passes.map((p) => Object.keys(p.signals))).toEqual([['first'], ['second'], ['third']])
      passes[2]!.answer([])
      await vi.advanceTimersByTimeAsync(0)
      expect(over).toBe(3)
    } finally {
      vi.useRealTimers()
    }
  })

  it("a pass looks at what started since the earliest of its markers' programs (0: one not known)", async () => {
    const { signaller, passes, passesMade } = recordingSignaller()
    const sweeps = new MarkerSweeps(signaller, 0)
    sweeps.end('late', 1000, 500)
    sweeps.end('early', 1000, 300)
    await passesMade(1)
    expect(passes[0]!.since).toBe(300)
    passes[0]!.answer([])
    await expect.poll(() => sweeps.markers()).toEqual([])
    sweeps.end('known', 1000, 700)
    sweeps.end('unknown', 1000)
    await passesMade(2)
    expect(passes[1]!.since).toBe(0)
    passes[1]!.answer([])
    await expect.poll(() => sweeps.markers()).toEqual([])
  })

  it("a pass looks at the pid windows of its markers' programs, when every one's is known", async () => {
    const { signaller, passes, passesMade } = recordingSignaller()
    const sweeps = new MarkerSweeps(signaller, 0)
    const window = (pid: number): PidWindow => ({ pid, forks: 1000 + pid, tasks: 200, pidMax: 32768 })
    sweeps.end('a', 1000, 500, window(40))
    sweeps.end('b', 1000, 300, window(30))
    await passesMade(1)
    expect(passes[0]!.windows).toEqual([window(40), window(30)])
    // a look after one was found keeps its window
    passes[0]!.answer(['a'])
    await passesMade(2)
    expect(passes[1]!.signals).toEqual({ a: 0 })
    expect(passes[1]!.windows).toEqual([window(40)])
    passes[1]!.answer([])
    await expect.poll(() => sweeps.markers()).toEqual([])
    // one whose window is not known (a leader whose pid never came): every process of the machine is looked at
    sweeps.end('c', 1000, 700, window(50))
    sweeps.end('d', 1000, 700)
    await passesMade(3)
    expect(passes[2]!.windows).toBeUndefined()
    passes[2]!.answer([])
    await expect.poll(() => sweeps.markers()).toEqual([])
  })

  it('a pass that fails leaves nothing pending', async () => {
    const sweeps = new MarkerSweeps(() => Promise.reject(new Error('no /proc')), 0)
    await sweeps.end('a', 1000)
    expect(sweeps.markers()).toEqual([])
    expect(sweeps.passes).toBe(1)
  })
})
