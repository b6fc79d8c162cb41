import { describe, expect, it } from 'vitest'
import { SerialByKey } from '../../src/util/serial-by-key.js'

/** A step that records when it starts and ends only once `finish` is called. */
function gated(name: string, log: string[]) {
  let finish!: () => void
  const done = new Promise<void>((resolve) => {
    finish = resolve
  })
  return {
    step: async () => {
      log.push(`${name} starts`)
      await done
      log.push(`${name} ends`)
      return name
    },
    finish: () => finish(),
  }
}

describe('SerialByKey', () => {
  it('runs the steps of one key one after another, in the order given; other keys meanwhile', async () => {
    const steps = new SerialByKey()
    const log: string[] = []
    const a1 = gated('a1', log)
    const a2 = gated('a2', log)
    const b1 = gated('b1', log)
    const first = steps.run('a', a1.step)
    const second = steps.run('a', a2.step)
    const other = steps.run('b', b1.step)
    // a1 and b1 started as they were given; a2 waits for a1
    expect(log).toEqual(['a1 starts', 'b1 starts'])
    a2.finish()
    b1.finish()
    expect(await other).toBe('b1')
    expect(log).not.toContain('a2 starts')
    a1.finish()
    expect(await Promise.all([first, second])).toEqual(['a1', 'a2'])
    expect(log).toEqual(['a1 starts', 'b1 starts', 'b1 ends', 'a1 ends', 'a2 starts', 'a2 ends'])
    expect(steps.size).toBe(0)
  })

  it('a step that fails rejects its own promise and does not stop the next', async () => {
    const steps = new SerialByKey()
    const failed = steps.run('a', async () => {
      throw new Error('boom')
    })
    const next = steps.run('a', async () => 'next')
    await expect(failed).rejects.toThrow('boom')
    expect(await next).toBe('next')
  })
})
