import { describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import { InProcessEventBus } from '../../src/store/event-bus.js'

const event = (seq: number) => ({ seq, type: 'output', data: `line ${seq}` }) as unknown as StoredEvent
const published = (bus: InProcessEventBus, ownerId: string, ...seqs: number[]) =>
  bus.publish(seqs.map((seq) => ({ ownerId, event: event(seq) })))

describe('InProcessEventBus subscribers', () => {
  it('every subscriber of an owner gets each of its events once, in order, until it unsubscribes', () => {
    const bus = new InProcessEventBus()
    const got = [[], [], []] as number[][]
    const off = got.map((seqs, i) => bus.subscribe(i < 2 ? 'run-a' : 'run-b', (ev) => seqs.push(ev.seq)))
    published(bus, 'run-a', 1, 2)
    published(bus, 'run-b', 7)
    off[0]!()
    off[0]!()
    published(bus, 'run-a', 3)
    expect(got).toEqual([[1, 2], [1, 2, 3], [7]])
  })

  it('a subscriber added while an event is handed out gets the next one; one removed meanwhile still gets it', () => {
    const bus = new InProcessEventBus()
    const got: string[] = []
    let offLast: () => void = () => {}
    bus.subscribe('run', (ev) => {
      got.push(`first ${ev.seq}`)
      if (ev.seq === 1) {
        bus.subscribe('run', (later) => got.push(`added ${later.seq}`))
        offLast()
      }
    })
    offLast = bus.subscribe('run', (ev) => got.push(`last ${ev.seq}`))
    published(bus, 'run', 1, 2)
    expect(got).toEqual(['first 1', 'last 1', 'first 2', 'added 2'])
  })

  it("a subscriber leaving does not look at the others (an EventEmitter's removal scans them all)", () => {
    const bus = new InProcessEventBus()
    let looked = 0
    const listener = () => {
      const fn = () => {}
      // EventEmitter#removeListener compares each listener's `listener` (a once() wrapper's) with the one removed
      Object.defineProperty(fn, 'listener', {
        get() {
          looked++
          return undefined
        },
      })
      return fn
    }
    const offs = Array.from({ length: 1000 }, () => bus.subscribe('run', listener()))
    offs[0]!()
    expect(looked).toBe(0)
    for (const off of offs) off()
    expect(looked).toBe(0)
    const got: number[] = []
    bus.subscribe('run', (ev) => got.push(ev.seq))
    published(bus, 'run', 5)
    expect(got).toEqual([5])
  })
})
