import { describe, expect, it } from 'vitest'
import { EventLanes } from '../../src/core/event-log-lanes.js'

const entry = (ownerId: string) => ({ ownerId })
const indexOf = <E>(lanes: EventLanes<{ ownerId: string }>, lane: E) => lanes.all.indexOf(lane as never)

describe('EventLanes', () => {
  it('keeps an owner on its lane while it has entries there; a new owner goes to the least loaded lane', () => {
    const lanes = new EventLanes(3)
    const a = [lanes.push(entry('a')), lanes.push(entry('a'))]
    const b = lanes.push(entry('b'))
    const c = lanes.push(entry('c'))
    // lane 0 has two entries of a: d goes to lane 1 (b), the first of the least loaded
    const d = lanes.push(entry('d'))
    expect([...a, b, c, d].map((l) => indexOf(lanes, l))).toEqual([0, 0, 1, 2, 1])
    expect(lanes.backlog).toBe(5)
  })

  it('lets an owner move once all its entries are settled, not before', () => {
    const lanes = new EventLanes(2)
    const first = lanes.push(entry('a'))
    lanes.push(entry('b'))
    lanes.push(entry('b'))
    const taken = first.queue.splice(0)
    // a still has an entry in flight on lane 0: its next one stays there
    expect(indexOf(lanes, lanes.push(entry('a')))).toBe(0)
    lanes.settled(taken)
    lanes.settled(lanes.all[0]!.queue.splice(0))
    // settled: a goes to the least loaded lane again (lane 0: nothing; lane 1: b's two)
    expect(indexOf(lanes, lanes.push(entry('a')))).toBe(0)
    lanes.settled(lanes.all[0]!.queue.splice(0))
    lanes.push(entry('c'))
    // lane 0 now has c, lane 1 b's two; b stays pinned to lane 1 regardless
    expect(indexOf(lanes, lanes.push(entry('b')))).toBe(1)
  })

  it('with one lane, queues everything there', () => {
    const lanes = new EventLanes(1)
    for (const id of ['a', 'b', 'c']) expect(indexOf(lanes, lanes.push(entry(id)))).toBe(0)
    lanes.settled(lanes.all[0]!.queue.splice(0))
    expect(lanes.backlog).toBe(0)
  })

  it('whenIdle resolves once no lane has anything queued or is flushing', async () => {
    const lanes = new EventLanes(2)
    await lanes.whenIdle()
    const lane = lanes.push(entry('a'))
    let idle = false
    const waiting = lanes.whenIdle().then(() => {
      idle = true
    })
    lane.flushing = true
    lane.queue.splice(0)
    lanes.stopped()
    await Promise.resolve()
    expect(idle).toBe(false)
    lane.flushing = false
    lanes.stopped()
    await waiting
    expect(idle).toBe(true)
  })

  it('refuses a count of lanes that is not a positive integer', () => {
    expect(() => new EventLanes(0)).toThrow(RangeError)
  })
})
