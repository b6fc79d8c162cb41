import { describe, expect, it } from 'vitest'
import { CliVersionCache } from '../../src/agents/cli-version.js'

describe('CliVersionCache', () => {
  it('reads once when it worked', async () => {
    let reads = 0
    const cache = new CliVersionCache(async () => `1.0.${++reads}`)
    expect(await cache.get()).toBe('1.0.1')
    expect(await cache.get()).toBe('1.0.1')
    expect(reads).toBe(1)
  })

  it('reads again after a failure once the retry time passed, and keeps the success', async () => {
    const answers = [null, '2.0.0']
    let reads = 0
    const cache = new CliVersionCache(async () => answers[reads++] ?? null, 0)
    expect(await cache.get()).toBeNull()
    expect(await cache.get()).toBe('2.0.0')
    expect(await cache.get()).toBe('2.0.0')
    expect(reads).toBe(2)
  })

  it('within the retry time a failure is not read again', async () => {
    let reads = 0
    const cache = new CliVersionCache(async () => {
      reads++
      return null
    }, 60_000)
    await cache.get()
    await cache.get()
    expect(reads).toBe(1)
  })
})
