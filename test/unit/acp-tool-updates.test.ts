import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ended, mergeToolCall, type ToolCallState, toolItem } from '../../src/agents/acp/tool-items.js'
import { UpdateMapper } from '../../src/agents/acp/update-mapper.js'
import { toolCallFields } from '../../src/agents/acp/wire.js'
import { type AgentEvent, agentEvent, type StoredEvent } from '../../src/protocol/events.js'
import { appendDelta, itemChange } from '../../src/protocol/item-delta.js'
import type { Item } from '../../src/protocol/items.js'
import { foldEvents } from '../../web/src/components/fold-events.js'

/**
 * Each ACP `tool_call_update` carries the whole tool call so far. The mapper sends what changed: nothing, the
 * new part of the item's streamed text (item.delta), or the whole item (item.updated). A client folding the
 * events must see, after every update, exactly what it saw when every update was sent whole.
 */
type Update = Record<string, unknown> & { toolCallId: string }
const update = (toolCallId: string, fields: Record<string, unknown>): Update => ({
  sessionUpdate: 'tool_call_update',
  toolCallId,
  ...fields,
})
const text = (t: string) => [{ type: 'content', content: { type: 'text', text: t } }]

/** What the gateway sent before: the whole item on every update (started, updated..., completed). */
function wholeEach(updates: Update[]): AgentEvent[][] {
  let state: ToolCallState | undefined
  let done = false
  return updates.map((u) => {
    if (done) return []
    const first = state === undefined
    state = mergeToolCall(state, toolCallFields.parse(u))
    done = ended(state)
    const type = first ? 'item.started' : done ? 'item.completed' : 'item.updated'
    return [{ type, item: toolItem(state) } as AgentEvent]
  })
}

const stamp = (events: AgentEvent[]): StoredEvent[] =>
  events.map(
    (ev, i) => ({ ...ev, seq: i + 1, at: '2026-12-03T00:00:00.000Z', runId: 'run_1' }) as StoredEvent,
  )
const folded = (events: AgentEvent[]) =>
  foldEvents(stamp(events)).map((b) => (b.kind === 'item' ? { item: b.item, final: b.final } : b))

/** Maps the updates one by one; after each, the fold equals the fold of the whole-item stream. */
function mapAndCompare(updates: Update[]): AgentEvent[] {
  const m = new UpdateMapper('acp:test', 't1')
  const whole = wholeEach(updates)
  const sent: AgentEvent[] = []
  const reference: AgentEvent[] = []
  updates.forEach((u, i) => {
    sent.push(...m.map(u))
    reference.push(...whole[i]!)
    expect(folded(sent), `after update ${i}`).toEqual(folded(reference))
  })
  for (const ev of sent) expect(agentEvent.safeParse(ev).success, JSON.stringify(ev)).toBe(true)
  return sent
}
const types = (events: AgentEvent[]) => events.map((e) => e.type)

describe('ACP tool call updates: only what changed, folded the same as whole items', () => {
  it('a think/fetch/search call whose content grows: its item does not change, so nothing is sent until it ends', () => {
    for (const kind of ['think', 'fetch', 'search']) {
      const id = `${kind}-1`
      const events = mapAndCompare([
        { sessionUpdate: 'tool_call', toolCallId: id, title: kind, kind, status: 'pending' },
        update(id, { status: 'in_progress' }),
        update(id, { content: text('first') }),
        update(id, { content: text('first, second') }),
        update(id, { status: 'completed', rawOutput: { text: 'first, second' } }),
      ])
      expect(types(events), kind).toEqual(['item.started', 'item.completed'])
    }
  })

  it("a read's pending -> in_progress -> completed: started and completed only", () => {
    const events = mapAndCompare([
      {
        sessionUpdate: 'tool_call',
        toolCallId: 'read-1',
        title: 'Read',
        kind: 'read',
        status: 'pending',
        rawInput: { file_path: '/w/a.ts' },
        locations: [{ path: '/w/a.ts' }],
      },
      update('read-1', { status: 'in_progress' }),
      update('read-1', { status: 'in_progress', locations: [{ path: '/w/a.ts' }] }),
      update('read-1', { status: 'completed', content: text('```\nexport {}\n```'), rawOutput: 'export {}' }),
    ])
    expect(types(events)).toEqual(['item.started', 'item.completed'])
  })

  it("claude-agent-acp's input refinements (rawInput gains a field each time) and a new title go out whole", () => {
    const events = mapAndCompare([
      { sessionUpdate: 'tool_call', toolCallId: 'w-1', title: 'Write', kind: 'edit', rawInput: {} },
      update('w-1', { rawInput: { file_path: '/w/b.txt' }, locations: [{ path: '/w/b.txt' }] }),
      update('w-1', { rawInput: { file_path: '/w/b.txt', content: 'hello' }, title: 'Write /w/b.txt' }),
      update('w-1', { content: [{ type: 'diff', path: '/w/b.txt', oldText: null, newText: 'hello' }] }),
      update('w-1', { content: [{ type: 'diff', path: '/w/b.txt', oldText: null, newText: 'hello' }] }),
      update('w-1', { status: 'in_progress' }),
      update('w-1', { status: 'completed' }),
    ])
    // the location, then the diff (the change becomes an add) change the file_change; the rest does not
    expect(types(events)).toEqual(['item.started', 'item.updated', 'item.updated', 'item.completed'])
  })

  it('an MCP call whose raw input and output change while it runs: item.updated for each change', () => {
    const events = mapAndCompare([
      { sessionUpdate: 'tool_call', toolCallId: 'mcp-1', title: 'docs.search', kind: 'other' },
      update('mcp-1', { rawInput: { query: 'fastify' } }),
      update('mcp-1', { rawOutput: { progress: 1 } }),
      update('mcp-1', { rawOutput: { progress: 1 } }),
      update('mcp-1', { rawOutput: { progress: 2 } }),
      update('mcp-1', { status: 'failed', content: text('quota exceeded') }),
    ])
    expect(types(events)).toEqual([
      'item.started',
      'item.updated',
      'item.updated',
      'item.updated',
      'item.completed',
    ])
  })

  it('a call that turns out to be a command (kind execute arrives later), then streams its output as deltas', () => {
    const events = mapAndCompare([
      { sessionUpdate: 'tool_call', toolCallId: 'c-1', title: 'Run', status: 'pending' },
      update('c-1', { kind: 'execute', rawInput: { command: 'ls' } }),
      update('c-1', { _meta: { terminal_output: { data: 'a\n' } } }),
      update('c-1', { status: 'in_progress' }),
      update('c-1', { _meta: { terminal_output: { data: 'b\n' } } }),
      update('c-1', { status: 'completed', rawOutput: { exit_code: 0 } }),
    ])
    expect(types(events)).toEqual([
      'item.started',
      'item.updated',
      'item.delta',
      'item.delta',
      'item.completed',
    ])
  })

  it("codex-acp's recorded command, and content-only output (re-sent whole each time) as deltas", () => {
    const recorded = JSON.parse(
      readFileSync(new URL('../fixtures/acp-wire/codex-acp-command.json', import.meta.url), 'utf8'),
    ) as { updates: Update[] }
    expect(types(mapAndCompare(recorded.updates))).toEqual([
      'item.started',
      'item.delta',
      'item.delta',
      'item.completed',
    ])
    const events = mapAndCompare([
      { sessionUpdate: 'tool_call', toolCallId: 'k-1', kind: 'execute', rawInput: { command: 'seq 2' } },
      update('k-1', { content: text('1\n') }),
      update('k-1', { content: text('1\n2\n') }),
      update('k-1', { content: text('2\n') }),
      update('k-1', { status: 'completed' }),
    ])
    // the output re-sent shorter is not an append: whole
    expect(types(events)).toEqual([
      'item.started',
      'item.delta',
      'item.delta',
      'item.updated',
      'item.completed',
    ])
  })

  it('a plan sent again unchanged sends nothing', () => {
    const m = new UpdateMapper('acp:test', 't1')
    const plan = (status: string) => ({ sessionUpdate: 'plan', entries: [{ content: 'step', status }] })
    const events = [plan('pending'), plan('pending'), plan('completed'), plan('completed')].flatMap((u) =>
      m.map(u),
    )
    expect(types(events)).toEqual(['item.started', 'item.updated'])
  })
})

describe('itemChange: what a client needs to go from one state of an item to the next', () => {
  const command = (aggregatedOutput: string, status = 'in_progress'): Item =>
    ({ id: 'c', type: 'command_execution', command: 'ls', aggregatedOutput, exitCode: null, status }) as Item
  const message = (t: string): Item => ({ id: 'm', type: 'agent_message', text: t })

  it('nothing, a delta (its new text only), or the whole item', () => {
    expect(itemChange(command('a'), command('a'))).toEqual({ kind: 'none' })
    expect(itemChange(command('a'), command('abc'))).toEqual({ kind: 'delta', delta: 'bc' })
    expect(itemChange(message('Hel'), message('Hello'))).toEqual({ kind: 'delta', delta: 'lo' })
    expect(itemChange(command('a'), command('ab', 'failed'))).toEqual({ kind: 'updated' })
    expect(itemChange(command('ab'), command('b'))).toEqual({ kind: 'updated' })
    const tool: Item = { id: 't', type: 'tool_call', tool: 'x', status: 'in_progress' }
    expect(itemChange(tool, { ...tool, result: 'r' })).toEqual({ kind: 'updated' })
    expect(itemChange(tool, command('a'))).toEqual({ kind: 'updated' })
  })

  it('appending a delta gives the new state', () => {
    const change = itemChange(command('a\n'), command('a\nb\n'))
    expect(change.kind === 'delta' && appendDelta(command('a\n'), change.delta)).toEqual(command('a\nb\n'))
    const tool: Item = { id: 't', type: 'tool_call', tool: 'x', status: 'in_progress' }
    expect(appendDelta(tool, 'ignored')).toBe(tool)
  })
})
