import { afterEach, describe, expect, it, vi } from 'vitest'

/** CSPRNG draws counted; `fill` makes the next draws that byte throughout. */
const drawn = vi.hoisted(() => ({ calls: 0, fill: undefined as number | undefined }))

vi.mock('node:crypto', async (importOriginal) => {
  const crypto = await importOriginal<typeof import('node:crypto')>()
  const count =
    <A extends unknown[], R>(f: (...args: A) => R) =>
    (...args: A): R => {
      drawn.calls++
      return f(...args)
    }
  const fillSync = ((buf: Buffer) =>
    drawn.fill === undefined
      ? crypto.randomFillSync(buf)
      : buf.fill(drawn.fill)) as typeof crypto.randomFillSync
  return { ...crypto, randomBytes: count(crypto.randomBytes), randomFillSync: count(fillSync) }
})

const { newId } = await import('../../src/core/ids.js')

afterEach(() => {
  drawn.calls = 0
})

describe('newId', () => {
  it('keeps its form: prefix, 10 base-36 characters of time, 10 hex characters of randomness', () => {
    expect(newId('turn')).toMatch(/^turn_[0-9a-z]{10}[0-9a-f]{10}$/)
    const before = Date.now()
    const time = Number.parseInt(newId('ses').slice(4, 14), 36)
    expect(time).toBeGreaterThanOrEqual(before)
    expect(time).toBeLessThanOrEqual(Date.now())
  })

  it('draws the randomness of many ids in one call to the CSPRNG, not one call per id', () => {
    const ids = new Set<string>()
    for (let i = 0; i < 1000; i++) ids.add(newId('turn').slice(15))
    expect(ids.size).toBe(1000)
    // 256 ids per draw (and at least one: the count sees the module's draws)
    expect(drawn.calls).toBeGreaterThanOrEqual(1)
    expect(drawn.calls).toBeLessThanOrEqual(5)
  })
})

describe('newId in one millisecond', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  // before: the random part alone ordered ids of the same millisecond, so a turn created after another could be
  // listed before it (session-steer-unstored-turn failed so in CI)
  it('orders ids by creation, however many share the millisecond', () => {
    vi.spyOn(Date, 'now').mockReturnValue(Date.now() + 60_000)
    const ids = Array.from({ length: 2000 }, () => newId('turn'))
    expect([...ids].sort()).toEqual(ids)
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids.every((id) => /^turn_[0-9a-z]{10}[0-9a-f]{10}$/.test(id))).toBe(true)
  })

  it('keeps the order when the clock steps back', () => {
    const now = Date.now() + 120_000
    const clock = vi.spyOn(Date, 'now').mockReturnValue(now)
    const before = newId('ses')
    clock.mockReturnValue(now - 5_000)
    const after = [newId('ses'), newId('ses')]
    expect([before, ...after].sort()).toEqual([before, ...after])
    clock.mockReturnValue(now + 1)
    expect(newId('ses') > after[1]!).toBe(true)
  })

  it('moves to the next millisecond when the random part would overflow', () => {
    const now = Date.now() + 180_000
    const clock = vi.spyOn(Date, 'now').mockReturnValue(now)
    // every random byte 0xff from the next draw of the pool on: the first id of a new millisecond is at the top
    drawn.fill = 0xff
    const calls = drawn.calls
    const ids: string[] = []
    try {
      while (drawn.calls === calls) ids.push(newId('apr'))
      clock.mockReturnValue(now + 10)
      for (let i = 0; i < 3; i++) ids.push(newId('apr'))
    } finally {
      drawn.fill = undefined
    }
    expect([...ids].sort()).toEqual(ids)
    const times = ids.slice(-3).map((id) => Number.parseInt(id.slice(4, 14), 36))
    expect(times).toEqual([now + 10, now + 11, now + 11])
  })
})
