import { describe, expect, it } from 'vitest'
import { type ImageEntry, type PruneFacts, staleImages } from '../support/image-prune.js'

const repo = 'localhost/agent-gateway-test'
const hour = 3600_000
const now = Date.UTC(2026, 11, 3, 12)

function facts(images: ImageEntry[], overrides: Partial<PruneFacts> = {}): PruneFacts {
  return {
    images,
    repo,
    leased: new Set(),
    lastUsed: () => undefined,
    now,
    maxIdleMs: 3 * hour,
    danglingMinAgeMs: 10 * 60_000,
    ...overrides,
  }
}

const image = (id: string, names: string[], ageMs: number, containers = 0): ImageEntry => ({
  id,
  names,
  created: now - ageMs,
  containers,
})

describe('staleImages: which test images a run removes', () => {
  it('removes the tags no run has used for the idle time, and keeps the younger ones', () => {
    const images = [
      image('a', [`${repo}:old`], 5 * hour),
      image('b', [`${repo}:recent`], 1 * hour),
      image('c', [`${repo}:edge`], 3 * hour),
    ]
    expect(staleImages(facts(images))).toEqual([`${repo}:old`, `${repo}:edge`])
  })

  it('counts idle time from the last run that leased or released a tag, not from its import', () => {
    const images = [image('a', [`${repo}:old-but-used`], 30 * hour), image('b', [`${repo}:old`], 30 * hour)]
    const lastUsed = (tag: string) => (tag === `${repo}:old-but-used` ? now - 2 * hour : now - 4 * hour)
    expect(staleImages(facts(images, { lastUsed }))).toEqual([`${repo}:old`])
  })

  it('never removes a tag a live run leases, however old', () => {
    const images = [image('a', [`${repo}:current`], 48 * hour), image('b', [`${repo}:other-run`], 48 * hour)]
    const leased = new Set([`${repo}:current`, `${repo}:other-run`])
    expect(staleImages(facts(images, { leased }))).toEqual([])
  })

  it('keeps an image a container was made from, tagged or dangling', () => {
    const images = [image('a', [`${repo}:old`], 48 * hour, 1), image('b', [], 48 * hour, 2)]
    expect(staleImages(facts(images))).toEqual([])
  })

  it('removes dangling images (an import whose tag went to a later one) once past the minimum age, by id', () => {
    const images = [image('sha-old', [], 11 * 60_000), image('sha-new', [], 60_000)]
    expect(staleImages(facts(images))).toEqual(['sha-old'])
  })

  it('leaves tags of other repositories alone, even on an image of the label', () => {
    const images = [image('a', ['localhost/someone-else:v1', `${repo}:old`], 48 * hour)]
    expect(staleImages(facts(images))).toEqual([`${repo}:old`])
    // a repository whose name only starts like ours is not ours
    expect(staleImages(facts([image('b', [`${repo}-probe:x`], 48 * hour)]))).toEqual([])
  })
})
