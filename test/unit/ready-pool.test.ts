import { afterEach, describe, expect, it, vi } from 'vitest'
import { ReadyPool } from '../../src/agents/ready-pool.js'

/** A pool of numbered things that records what it released; `released(n)` resolves once n were. */
function pool(keepMs = 60_000, max = 2, perKey = 1, laterMs = 0) {
  const released: string[] = []
  let waiters: (() => void)[] = []
  const p = new ReadyPool<string>(
    keepMs,
    async (item) => {
      released.push(item)
      for (const w of waiters) w()
      waiters = []
    },
    max,
    perKey,
    laterMs,
  )
  const releasedCount = (n: number) =>
    new Promise<void>((resolve) => {
      const check = () => (released.length >= n ? resolve() : waiters.push(check))
      check()
    })
  return { p, released, releasedCount }
}

describe('ReadyPool', () => {
  it('hands what it made for a key to one run only, and counts it', async () => {
    const { p } = pool()
    const made: string[] = []
    p.prepare(
      'k',
      async () => 'thing-1',
      (it) => made.push(it),
    )
    expect(p.waiting).toBe(1)
    // `made` hears of it while it waits (not if it was taken before it was there)
    await new Promise((resolve) => setImmediate(resolve))
    expect(await p.take('k')).toBe('thing-1')
    expect(made).toEqual(['thing-1'])
    expect(await p.take('k')).toBeNull()
    expect(await p.take('other')).toBeNull()
    expect([p.started, p.served, p.waiting]).toEqual([1, 1, 0])
  })

  it('makes one per key at a time, and a thing no longer usable is released, not handed out', async () => {
    const { p, released } = pool()
    let calls = 0
    const make = async () => `t${++calls}`
    p.prepare('k', make)
    p.prepare('k', make)
    expect(calls).toBe(1)
    expect(await p.take('k', () => false)).toBeNull()
    expect(p.served).toBe(0)
    // released as it is passed over (not awaited)
    expect(released).toEqual(['t1'])
  })

  it('passes over an unusable thing to the next one of its key', async () => {
    const { p, released } = pool(60_000, 4, 2)
    let calls = 0
    p.prepare('k', async () => `t${++calls}`)
    expect(await p.take('k', (it) => it !== 't1')).toBe('t2')
    expect(released).toEqual(['t1'])
    expect([p.served, p.waiting]).toEqual([1, 0])
  })

  it('drops a thing whose making failed', async () => {
    const { p } = pool()
    p.prepare('k', async () => {
      throw new Error('no')
    })
    expect(await p.take('k')).toBeNull()
  })

  it('releases the oldest beyond max, one whose keep-alive ended, and all on close', async () => {
    const full = pool(60_000, 2)
    full.p.prepare('a', async () => 'A')
    full.p.prepare('b', async () => 'B')
    full.p.prepare('c', async () => 'C')
    await full.releasedCount(1)
    expect(full.released).toEqual(['A'])
    await full.p.close()
    expect(full.released.sort()).toEqual(['A', 'B', 'C'])
    full.p.prepare('d', async () => 'D')
    expect(full.p.waiting).toBe(0)

    const brief = pool(10)
    brief.p.prepare('k', async () => 'K')
    await brief.releasedCount(1)
    expect(brief.released).toEqual(['K'])
    expect(await brief.p.take('k')).toBeNull()
  })

  it('closed without release, forgets what waits (releasing nothing) and makes no more', async () => {
    const { p, released } = pool(60_000, 4, 2)
    p.prepare('k', async () => 'K')
    p.prepare('j', () => new Promise<string>(() => {}))
    // a thing still being made does not hold the close up either
    await p.close(false)
    expect([released, p.waiting]).toEqual([[], 0])
    p.prepare('k', async () => 'later')
    expect(await p.take('k')).toBeNull()
  })

  it('with perKey 2, keeps two made for a key, hands out the oldest first and passes over a failed one', async () => {
    const { p, released } = pool(60_000, 4, 2)
    let calls = 0
    const make = async () => {
      calls++
      if (calls === 3) throw new Error('no')
      return `t${calls}`
    }
    p.prepare('k', make)
    expect([calls, p.waiting]).toEqual([2, 2])
    p.prepare('k', make)
    expect(calls).toBe(2)
    expect(await p.take('k')).toBe('t1')
    // the run that took t1 ends: one more is made (t3, which fails), and t2 is still there
    p.prepare('k', make)
    expect([calls, p.waiting]).toEqual([3, 2])
    expect(await p.take('k')).toBe('t2')
    // t3 failed: passed over, nothing left
    expect(await p.take('k')).toBeNull()
    expect([p.served, p.waiting]).toEqual([2, 0])
    expect(released).toEqual([])
  })

  it('with perKey 2, max counts what waits for every key: the oldest goes first', async () => {
    const { p, released, releasedCount } = pool(60_000, 3, 2)
    let n = 0
    p.prepare('a', async () => `a${++n}`)
    p.prepare('b', async () => `b${++n}`)
    await releasedCount(1)
    expect(released).toEqual(['a1'])
    expect(p.waiting).toBe(3)
    expect(await p.take('a')).toBe('a2')
    expect(await p.take('b')).toBe('b3')
    expect(await p.take('b')).toBe('b4')
    await p.close()
    expect(released).toEqual(['a1'])
  })

  describe('with laterMs', () => {
    afterEach(() => {
      vi.useRealTimers()
    })

    it('a key none waits for gets one at once and the rest laterMs after; a run right after takes the first', async () => {
      vi.useFakeTimers()
      const { p } = pool(60_000, 4, 2, 200)
      let calls = 0
      const make = async () => `t${++calls}`
      p.prepare('k', make)
      expect([calls, p.waiting]).toEqual([1, 1])
      // asked again meanwhile (another run of the key ended): still one due later, not two
      p.prepare('k', make)
      expect(calls).toBe(1)
      expect(await p.take('k')).toBe('t1')
      vi.advanceTimersByTime(199)
      expect(calls).toBe(1)
      // the fill is due: up to two wait
      vi.advanceTimersByTime(1)
      expect([calls, p.waiting]).toEqual([3, 2])
      // a run ends while one still waits: nothing at once, the second again laterMs after
      expect(await p.take('k')).toBe('t2')
      p.prepare('k', make)
      expect([calls, p.waiting]).toEqual([3, 1])
      vi.advanceTimersByTime(200)
      expect([calls, p.waiting]).toEqual([4, 2])
    })

    it('a fill due later is not made once the pool is closed', async () => {
      vi.useFakeTimers()
      const { p } = pool(60_000, 4, 2, 200)
      let calls = 0
      p.prepare('k', async () => `t${++calls}`)
      await p.close(false)
      vi.advanceTimersByTime(1000)
      expect([calls, p.waiting]).toEqual([1, 0])
    })
  })
})
