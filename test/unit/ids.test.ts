import { afterEach, describe, expect, it, vi } from 'vitest'

const drawn = vi.hoisted(() => ({ calls: 0 }))

vi.mock('node:crypto', async (importOriginal) => {
  const crypto = await importOriginal<typeof import('node:crypto')>()
  const count =
    <A extends unknown[], R>(f: (...args: A) => R) =>
    (...args: A): R => {
      drawn.calls++
      return f(...args)
    }
  return { ...crypto, randomBytes: count(crypto.randomBytes), randomFillSync: count(crypto.randomFillSync) }
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
