import { describe, expect, it } from 'vitest'
import { FullDiskMark } from '../../src/store/full-disk-mark.js'

const diskFull = Object.assign(new Error('could not extend file'), { code: '53100' })
const down = Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' })

describe('FullDiskMark (what /health says of a store disk full, without a write on every check)', () => {
  it('probes only while a write was refused for a full disk; the probe stored, or events stored, unmark it', async () => {
    const mark = new FullDiskMark()
    let probes = 0
    let refuse: unknown = diskFull
    const probe = async () => {
      probes++
      if (refuse) throw refuse
    }
    expect(await mark.check(probe)).toBe(false)
    mark.refused(down) // not a full disk
    expect(await mark.check(probe)).toBe(false)
    expect(probes).toBe(0)

    mark.refused(diskFull)
    expect(mark.fullSince).toEqual(expect.any(String))
    expect(await mark.check(probe)).toBe(true)
    expect(probes).toBe(1)
    // checks at once share one probe
    expect(await Promise.all([mark.check(probe), mark.check(probe)])).toEqual([true, true])
    expect(probes).toBe(2)
    // a probe that fails otherwise (the store down) says full and keeps the mark
    refuse = down
    expect(await mark.check(probe)).toBe(true)
    expect(mark.fullSince).toEqual(expect.any(String))
    // space back: the probe is stored and the mark is gone, no more probes
    refuse = undefined
    expect(await mark.check(probe)).toBe(false)
    expect(await mark.check(probe)).toBe(false)
    expect(probes).toBe(4)

    mark.refused(diskFull)
    mark.stored()
    expect(await mark.check(probe)).toBe(false)
    expect(probes).toBe(4)
  })

  it('tells onCleared listeners when a mark is cleared (a write took room), not when nothing was marked', async () => {
    const mark = new FullDiskMark()
    let cleared = 0
    mark.onCleared(() => cleared++)
    mark.stored()
    expect(cleared).toBe(0)
    mark.refused(diskFull)
    mark.stored()
    mark.stored()
    expect(cleared).toBe(1)
    mark.refused(diskFull)
    expect(await mark.check(async () => {})).toBe(false)
    expect(cleared).toBe(2)
  })
})
