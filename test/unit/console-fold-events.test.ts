import { describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import { foldEvents } from '../../web/src/components/fold-events.js'

const at = '2026-12-03T00:00:00.000Z'
const stored = (seq: number, ev: Record<string, unknown>) =>
  ({ ...ev, seq, at, runId: 'run_1' }) as StoredEvent

describe('console: folding events into blocks', () => {
  it("a command's output deltas are appended to its item while it runs; its end replaces it", () => {
    const command = {
      id: 'c1',
      type: 'command_execution',
      command: 'seq 3',
      exitCode: null,
      status: 'in_progress',
    }
    const events = [
      stored(1, { type: 'item.started', item: { ...command, aggregatedOutput: '' } }),
      stored(2, { type: 'item.delta', itemId: 'c1', delta: '1\n' }),
      stored(3, { type: 'item.delta', itemId: 'c1', delta: '2\n' }),
    ]
    const running = foldEvents(events)
    expect(running).toHaveLength(1)
    expect(running[0]).toMatchObject({ kind: 'item', final: false, item: { aggregatedOutput: '1\n2\n' } })
    const done = { ...command, aggregatedOutput: '1\n2\n3\n', exitCode: 0, status: 'completed' }
    const ended = foldEvents([...events, stored(4, { type: 'item.completed', item: done })])
    expect(ended).toEqual([{ kind: 'item', seq: 1, final: true, item: done }])
  })

  it("an agent message's deltas are appended to its text", () => {
    const blocks = foldEvents([
      stored(1, { type: 'item.delta', itemId: 'm1', delta: 'Hel' }),
      stored(2, { type: 'item.delta', itemId: 'm1', delta: 'lo' }),
    ])
    expect(blocks).toMatchObject([{ kind: 'item', item: { type: 'agent_message', text: 'Hello' } }])
  })

  it('each seq is folded once: a delta or output received twice (a replay after a reconnect) is not doubled', () => {
    const command = {
      id: 'c1',
      type: 'command_execution',
      command: 'seq 2',
      exitCode: null,
      status: 'in_progress',
    }
    const events = [
      stored(1, { type: 'item.started', item: { ...command, aggregatedOutput: '' } }),
      stored(2, { type: 'item.delta', itemId: 'c1', delta: '1\n' }),
      stored(3, { type: 'output', stream: 'stderr', data: 'warning\n' }),
    ]
    const once = foldEvents(events)
    const replayed = foldEvents([
      ...events,
      ...events.slice(1),
      stored(4, { type: 'item.delta', itemId: 'c1', delta: '2\n' }),
    ])
    expect(once).toMatchObject([{ item: { aggregatedOutput: '1\n' } }, { kind: 'output', text: 'warning\n' }])
    expect(replayed).toMatchObject([
      { item: { aggregatedOutput: '1\n2\n' } },
      { kind: 'output', text: 'warning\n' },
    ])
  })

  it('consecutive agent.raw events are one group (an item changing between them does not part them), each seq once', () => {
    const raw = (seq: number, method: string) =>
      stored(seq, { type: 'agent.raw', agent: 'codex', payload: { method } })
    const message = { id: 'm1', type: 'agent_message', text: 'hi' }
    const events = [
      stored(1, { type: 'turn.started' }),
      raw(2, 'item/started'),
      stored(3, { type: 'item.started', item: { ...message, text: '' } }),
      raw(4, 'item/completed'),
      stored(5, { type: 'item.completed', item: message }),
      raw(6, 'x/y'),
      stored(7, { type: 'turn.completed' }),
      raw(8, 'late'),
    ]
    const blocks = foldEvents([...events, raw(6, 'x/y')])
    expect(blocks.map((b) => [b.kind, b.seq])).toEqual([
      ['event', 1],
      ['raw', 2],
      ['item', 3],
      ['raw', 4],
      ['event', 7],
      ['raw', 8],
    ])
    expect(blocks[3]).toMatchObject({ kind: 'raw', events: [{ seq: 4 }, { seq: 6 }] })
  })
})
