import { afterEach, describe, expect, it, vi } from 'vitest'
import { NodeCalls } from '../../src/core/node-calls.js'
import type { NodeMessage, NodeSignals } from '../../src/store/node-signals.js'

/** Signals between nodes of one process: each message goes to the handlers of the node it is addressed to. */
function hub(): (node: string) => NodeSignals {
  const nodes = new Map<string, ((m: NodeMessage) => void)[]>()
  return (node) => {
    nodes.set(node, [])
    return {
      send: async (to, message) => {
        for (const h of nodes.get(to) ?? []) queueMicrotask(() => h(message))
      },
      onMessage: (h) => nodes.get(node)!.push(h),
      close: async () => {},
    }
  }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('NodeCalls looks at the callee', () => {
  it('only while its call is unanswered: a look in flight when the answer comes starts no other', async () => {
    vi.useFakeTimers()
    const signals = hub()
    let looks = 0
    let lookAnswered!: (alive: boolean) => void
    const caller = new NodeCalls(
      'node_a',
      signals('node_a'),
      () => {
        looks++
        return new Promise<boolean>((resolve) => {
          lookAnswered = resolve
        })
      },
      1000,
      { firstLookMs: 250 },
    )
    const callee = new NodeCalls('node_b', signals('node_b'), async () => true, 1000)
    let answer!: (v: string) => void
    callee.handle('slow', () => new Promise<string>((resolve) => (answer = resolve)))
    const call = caller.call<string>('node_b', 'slow', {}, 60_000)
    await vi.advanceTimersByTimeAsync(250)
    expect(looks).toBe(1)
    // the answer comes while that look is in flight
    answer('done')
    expect(await call).toBe('done')
    lookAnswered(true)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(looks).toBe(1)
    expect(vi.getTimerCount()).toBe(0)
  })
})
