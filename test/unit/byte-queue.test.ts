import { describe, expect, it } from 'vitest'
import { ByteQueue } from '../../src/agents/byte-queue.js'

/** A ByteCount that records what it was told. */
function recordingCount() {
  const told: string[] = []
  let bytes = 0
  return {
    told,
    get bytes() {
      return bytes
    },
    add(n: number) {
      bytes += n
      told.push(`+${n}`)
    },
    take(n: number) {
      bytes -= n
      told.push(`-${n}`)
    },
  }
}

describe('ByteQueue', () => {
  it("counts each item's bytes while it is queued, here and in its owner's count; items of no bytes are not told", async () => {
    const count = recordingCount()
    const queue = new ByteQueue<string>((s) => s.length, count)
    queue.push('abc')
    queue.push('')
    queue.push('defgh')
    expect(queue.size).toBe(3)
    expect(queue.queuedBytes).toBe(8)
    expect(count.told).toEqual(['+3', '+5'])
    const read = queue[Symbol.asyncIterator]()
    expect((await read.next()).value).toBe('abc')
    expect(queue.queuedBytes).toBe(5)
    expect((await read.next()).value).toBe('')
    expect((await read.next()).value).toBe('defgh')
    expect(queue.queuedBytes).toBe(0)
    expect(count.told).toEqual(['+3', '+5', '-3', '-5'])
    expect(count.bytes).toBe(0)
  })

  it('wakes a waiting reader on a push, and ends its iteration on close once what is queued is taken', async () => {
    const queue = new ByteQueue<string>((s) => s.length)
    const read = queue[Symbol.asyncIterator]()
    const first = read.next()
    let woke = false
    void first.then(() => {
      woke = true
    })
    await new Promise((resolve) => setImmediate(resolve))
    expect(woke).toBe(false)
    queue.push('one')
    expect(await first).toEqual({ value: 'one', done: false })
    // a reader waiting when the queue closes ends; one that comes after takes what is queued first
    const second = read.next()
    queue.push('two')
    queue.push('three')
    queue.close()
    expect(await second).toEqual({ value: 'two', done: false })
    expect(await read.next()).toEqual({ value: 'three', done: false })
    expect(await read.next()).toEqual({ value: undefined, done: true })
    // closed: later pushes are dropped, not counted
    queue.push('late')
    expect(queue.size).toBe(0)
    expect(queue.queuedBytes).toBe(0)

    const idle = new ByteQueue<string>((s) => s.length)
    const waiting = idle[Symbol.asyncIterator]().next()
    idle.close()
    expect(await waiting).toEqual({ value: undefined, done: true })
  })

  it('release drops what is queued at once (its bytes given back to the count) and ends a waiting reader', async () => {
    const count = recordingCount()
    const queue = new ByteQueue<string>((s) => s.length, count)
    queue.push('aa')
    queue.push('bbb')
    const read = queue[Symbol.asyncIterator]()
    expect((await read.next()).value).toBe('aa')
    queue.release()
    expect(queue.size).toBe(0)
    expect(count.told).toEqual(['+2', '+3', '-2', '-3'])
    expect(await read.next()).toEqual({ value: undefined, done: true })

    const waitingQueue = new ByteQueue<string>((s) => s.length)
    const waiting = waitingQueue[Symbol.asyncIterator]().next()
    waitingQueue.release()
    expect(await waiting).toEqual({ value: undefined, done: true })
    waitingQueue.push('late')
    expect(waitingQueue.size).toBe(0)
  })

  it('compacts what was taken as it piles up (not one shift per item), keeping the order and the count', async () => {
    const count = recordingCount()
    const queue = new ByteQueue<number>(() => 1, count)
    const items = (queue as unknown as { items: unknown[] }).items
    const read = queue[Symbol.asyncIterator]()
    // a reader that never catches up: the queue is never empty, so only the compaction frees the taken items
    const taken: number[] = []
    let pushed = 0
    let longest = 0
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 1000; i++) queue.push(pushed++)
      for (let i = 0; i < 900; i++) taken.push((await read.next()).value as number)
      longest = Math.max(longest, items.length)
    }
    expect(taken).toEqual(Array.from({ length: 4500 }, (_, i) => i))
    expect(queue.size).toBe(500)
    expect(queue.queuedBytes).toBe(500)
    expect(count.bytes).toBe(500)
    // taken items were dropped from the array: at most 1024 taken ones ahead of the 5 x 100 left behind
    expect(longest).toBeLessThan(1024 + 1000 + 500)
    expect(items.length).toBeLessThan(1024 + 500)
    // once the reader catches up the array is emptied
    for (let i = 0; i < 500; i++) taken.push((await read.next()).value as number)
    expect(items.length).toBe(0)
    expect(taken).toEqual(Array.from({ length: 5000 }, (_, i) => i))
    expect(count.bytes).toBe(0)
  })
})
