import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { mapThreadItem, threadItem } from '../../src/agents/codex-app-server/item-mapping.js'
import { safeRead, threadIdOf } from '../../src/agents/codex-app-server/wire-read.js'
import * as wire from '../../src/agents/codex-app-server/wire-schemas.js'

/** A recorded codex 0.169.0 turn (the replaying app-server's), one JSON-RPC message per line. */
const recorded = readFileSync(
  path.join(import.meta.dirname, '../../bench/replay-app-server/codex-0.169.0-turn.jsonl'),
  'utf8',
)
  .split('\n')
  .filter((line) => line.trim())
  .map((line) => JSON.parse(line) as { method?: string; params?: unknown; result?: unknown })

const items: unknown[] = [
  { type: 'agentMessage', id: 'i1', text: 'ok', phase: null },
  { type: 'agentMessage', id: 'i1' },
  { type: 'reasoning', id: 'r1', summary: ['a'], content: [] },
  { type: 'reasoning', id: 'r1' },
  {
    type: 'commandExecution',
    id: 'c1',
    command: 'ls',
    aggregatedOutput: null,
    exitCode: 0,
    status: 'completed',
  },
  { type: 'commandExecution', id: 'c1', command: 'ls', exitCode: 1.5, status: 'completed' },
  { type: 'commandExecution', id: 'c1', command: 'ls', status: 'bogus' },
  {
    type: 'fileChange',
    id: 'f1',
    changes: [
      { path: 'a', kind: { type: 'add' }, diff: '+a' },
      { path: 'b', kind: { type: 'update', move_path: null } },
    ],
    status: 'inProgress',
  },
  { type: 'fileChange', id: 'f1', changes: [{ path: 'a', kind: { type: 'rename' } }], status: 'completed' },
  {
    type: 'mcpToolCall',
    id: 'm1',
    server: 's',
    tool: 't',
    status: 'failed',
    arguments: {},
    result: null,
    error: { message: 'x' },
  },
  {
    type: 'dynamicToolCall',
    id: 'd1',
    tool: 't',
    status: 'completed',
    arguments: 1,
    contentItems: [],
    success: false,
  },
  { type: 'webSearch', id: 'w1', query: 'q' },
  { type: 'plan', id: 'p1', text: 'do' },
  { type: 'userMessage', id: 'u1', content: [] },
  { type: 'imageView', id: 'v1' },
]

const kinds: unknown[] = [
  null,
  undefined,
  '',
  'x',
  0,
  1.5,
  Number.NaN,
  true,
  [],
  ['a'],
  [1],
  {},
  { message: 'm' },
]

/** The value, and values around it: each of its fields (to depth 3) removed and replaced by a value of every kind. */
function variants(value: unknown, depth = 0): unknown[] {
  const out: unknown[] = [value]
  if (depth > 3 || typeof value !== 'object' || value === null) return out
  if (Array.isArray(value)) {
    if (value.length > 0)
      for (const inner of variants(value[0], depth + 1)) out.push([inner, ...value.slice(1)])
    return out
  }
  const record = value as Record<string, unknown>
  for (const key of Object.keys(record)) {
    const { [key]: _, ...without } = record
    out.push(without)
    for (const kind of kinds) out.push({ ...record, [key]: kind })
    for (const inner of variants(record[key], depth + 1).slice(1)) out.push({ ...record, [key]: inner })
  }
  return out
}

const schemas: [string, z.ZodType][] = [
  ...Object.entries(wire).flatMap(([name, s]): [string, z.ZodType][] =>
    s instanceof z.ZodType ? [[name, s]] : [],
  ),
  ['threadItem', threadItem],
]
const values: unknown[] = [
  ...recorded.flatMap((m) => [m.params, m.result]).filter((v) => v !== undefined),
  ...items,
  ...items.map((item) => ({ threadId: 't', turnId: 'u', item })),
  { threadId: 't', turnId: 'u', itemId: 'i', delta: 'd' },
  { threadId: 't', turnId: 'u', plan: [{ step: 's', status: 'completed' }] },
  { threadId: 't', turnId: 'u', error: { message: 'm' }, willRetry: true },
  { threadId: 't', status: { type: 'active', activeFlags: ['waitingOnApproval'] } },
  { threadId: 't', turn: { id: 'u', status: 'failed', error: null } },
  { threadId: 't', requestId: 3 },
  { conversationId: 'c' },
  null,
  'text',
  [],
]

describe('safeRead', () => {
  it.each(schemas)('accepts and refuses exactly what zod does, with the same data: %s', (_name, schema) => {
    let compared = 0
    for (const base of values)
      for (const value of variants(base)) {
        const ours = safeRead(schema, value)
        const zods = schema.safeParse(value)
        expect(ours.success, JSON.stringify(value)).toBe(zods.success)
        if (zods.success) expect(ours.data).toEqual(zods.data)
        else expect(ours.error?.issues).toEqual(zods.error.issues)
        compared++
      }
    expect(compared).toBeGreaterThan(1000)
  })

  it("reads codex's notifications of a warm turn as they are, without zod's copy", () => {
    const read = (schema: z.ZodType, value: unknown) => {
      const r = safeRead(schema, value)
      expect(r.success).toBe(true)
      expect(r.data).toBe(value)
    }
    let notifications = 0
    for (const { method, params } of recorded) {
      if (!method || !params) continue
      const p = params as { threadId?: string; item?: { type: string } }
      if (p.threadId) read(wire.threadRef, params)
      if (method === 'turn/started' || method === 'turn/completed') read(wire.turnNotification, params)
      if (method === 'thread/status/changed') read(wire.statusChanged, params)
      if (method === 'thread/tokenUsage/updated') read(wire.tokenUsageUpdated, params)
      if (method === 'item/started' || method === 'item/completed') {
        read(wire.itemNotification, params)
        if (p.item?.type === 'agentMessage') read(threadItem, p.item)
      }
      notifications++
    }
    expect(notifications).toBeGreaterThanOrEqual(10)
  })

  it("names a message's thread exactly as threadRef's parse does (an account notification names none)", () => {
    let named = 0
    for (const base of values)
      for (const value of variants(base)) {
        const expected = wire.threadRef.safeParse(value).data?.threadId
        expect(threadIdOf(value), JSON.stringify(value)).toBe(expected)
        if (expected !== undefined) named++
      }
    expect(named).toBeGreaterThan(100)
  })

  it('maps an item to null exactly when zod refuses it (a kind not mapped is refused without zod)', () => {
    for (const base of [...items, null, 'x', [], { type: 1 }])
      for (const value of variants(base)) {
        const mapped = mapThreadItem(value)
        expect(mapped === null, JSON.stringify(value)).toBe(!threadItem.safeParse(value).success)
      }
  })

  it('leaves to zod what it cannot read as it is: a default, a union, a stripping object', () => {
    const withDefault = z.looseObject({ a: z.array(z.string()).default([]) })
    expect(safeRead(withDefault, {}).data).toEqual({ a: [] })
    const stripping = z.object({ a: z.string() })
    expect(safeRead(stripping, { a: 'x', b: 1 }).data).toEqual({ a: 'x' })
    const union = z.union([z.string(), z.number()])
    expect(safeRead(union, 1).success).toBe(true)
  })
})
