import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { heldStdout } from '../../src/agents/acp/held-stdout.js'
import { HeldEvents } from '../../src/agents/held-events.js'
import { HeldOutput, outputQueues } from '../../src/agents/held-output.js'
import type { AgentEvent } from '../../src/protocol/events.js'

const output = (data: string): AgentEvent => ({ type: 'output', stream: 'stdout', data })

describe('HeldOutput and HeldEvents', () => {
  it("past the bound a process's reader waits until its turns' readers took enough; a reader that leaves lets go of its share", async () => {
    const held = new HeldOutput(1000)
    const a = new HeldEvents(held)
    const b = new HeldEvents(held)
    for (let i = 0; i < 10; i++) a.push(output('x'.repeat(100)))
    b.push(output('y'.repeat(200)))
    expect(held.holding).toBe(true)
    expect(outputQueues.paused).toBe(1)
    let resumed = false
    void held.room()?.then(() => {
      resumed = true
    })
    // a's reader takes a few: not yet half the bound left
    const readA = a[Symbol.asyncIterator]()
    for (let i = 0; i < 3; i++) await readA.next()
    await Promise.resolve()
    expect(resumed).toBe(false)
    // b's reader leaves at once: its share and a's remaining go with a's leaving
    const readB = b[Symbol.asyncIterator]()
    await readB.next()
    await readB.return?.(undefined)
    await readA.return?.(undefined)
    await new Promise((resolve) => setImmediate(resolve))
    expect(resumed).toBe(true)
    expect(held.heldBytes).toBe(0)
    expect(outputQueues).toEqual({ bytes: 0, paused: 0 })
    // nothing more is queued (nor counted) once its reader left
    a.push(output('late'))
    expect(held.heldBytes).toBe(0)
  })

  it('heldStdout reads no chunk past the bound (the agent blocks on its pipe), and reads on once there is room', async () => {
    const held = new HeldOutput(100)
    let reads = 0
    const stdout = new Readable({
      highWaterMark: 10,
      read() {
        reads++
        this.push(Buffer.from('{"a":1}\n'))
      },
    })
    const reader = heldStdout(stdout, held).getReader()
    expect((await reader.read()).done).toBe(false)
    const events = new HeldEvents(held)
    events.push(output('z'.repeat(200)))
    expect(held.holding).toBe(true)
    const pending = reader.read()
    await new Promise((resolve) => setImmediate(resolve))
    const readsWhileHeld = reads
    let got = false
    void pending.then(() => {
      got = true
    })
    await new Promise((resolve) => setImmediate(resolve))
    expect(got).toBe(false)
    expect(reads).toBe(readsWhileHeld)
    // the turn's reader takes it: the chunk comes
    const taken = events[Symbol.asyncIterator]()
    await taken.next()
    expect((await pending).done).toBe(false)
    await taken.return?.(undefined)
    await reader.cancel()
  })
})
