import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { type $ZodType, safeParse } from 'zod/v4/core'
import { queuedTurn } from '../../src/core/turn-queue.js'
import { approvalExample, runExample, sessionExample, turnExample } from '../../src/http/openapi-examples.js'
import { sameJsonCheck } from '../../src/http/same-json-check.js'
import { usage } from '../../src/protocol/outcome.js'
import { run } from '../../src/protocol/runs.js'
import { approval, session, turn, turnInput } from '../../src/protocol/sessions.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { newSession, nodeRecord } from '../contract/store-contract.js'
import { tempDir } from '../support/temp.js'

const stores: SqliteStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

/** The check may say yes only where zod's parse succeeds and gives the same JSON. */
function agreesWithZod(schema: $ZodType, value: unknown): boolean {
  const fast = sameJsonCheck(schema)(value)
  if (!fast) return false
  const parsed = safeParse(schema, value)
  expect(parsed.success, `zod refuses what the check accepts: ${String(JSON.stringify(value))}`).toBe(true)
  expect(JSON.stringify(parsed.data)).toBe(JSON.stringify(value))
  return true
}

/** Values around a valid one: each field removed, replaced by a value of every kind, keys reordered, one added. */
function variants(valid: Record<string, unknown>): unknown[] {
  const kinds: unknown[] = [
    null,
    undefined,
    '',
    'x',
    'a\u{1F600}',
    '\u{1F600}',
    0,
    -0,
    1,
    -1,
    1.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    2 ** 53,
    true,
    [],
    [{ type: 'text', text: 'hi' }],
    [{ type: 'text', text: '' }],
    [{ type: 'image', text: 'hi' }],
    {},
    { inputTokens: 1, cachedInputTokens: 0, outputTokens: 2, reasoningOutputTokens: 0 },
    { inputTokens: -1, cachedInputTokens: 0, outputTokens: 2, reasoningOutputTokens: 0 },
    { inputTokens: 1.5, cachedInputTokens: 0, outputTokens: 2, reasoningOutputTokens: 0 },
    { cachedInputTokens: 0, inputTokens: 1, outputTokens: 2, reasoningOutputTokens: 0 },
    new Date(0),
    'queued',
    'completed',
    'bogus',
  ]
  const out: unknown[] = [valid, { ...valid }, { extra: 1, ...valid }, { ...valid, extra: 1 }]
  const keys = Object.keys(valid)
  out.push(Object.fromEntries([...keys].reverse().map((k) => [k, valid[k]])))
  for (const k of keys) {
    const { [k]: _, ...without } = valid
    out.push(without)
    for (const v of kinds) out.push({ ...valid, [k]: v })
  }
  out.push(Object.assign(Object.create({ inherited: 1 }), valid))
  out.push(Object.assign(Object.create(null), valid))
  class Sub extends Array {}
  out.push(Sub.from([valid]))
  return out
}

describe('sameJsonCheck', () => {
  const completedTurn = {
    ...turnExample,
    status: 'completed',
    usage: { inputTokens: 10, cachedInputTokens: 2, outputTokens: 3, reasoningOutputTokens: 0 },
  }
  const schemas: [string, $ZodType, Record<string, unknown>][] = [
    ['turn', turn, completedTurn],
    ['turn, queued', turn, { ...turnExample, status: 'queued', usage: null, finalResponse: null }],
    ['session', session, sessionExample as Record<string, unknown>],
    ['run', run, runExample as Record<string, unknown>],
    ['approval', approval, approvalExample as Record<string, unknown>],
    ['usage', usage, completedTurn.usage],
  ]

  it.each(schemas)('says yes only where zod parses to the same JSON: %s', (_name, schema, valid) => {
    let accepted = 0
    for (const value of variants(valid)) if (agreesWithZod(schema, value)) accepted++
    // it is used at all: the valid value, its copy and the one with keys in the same order
    if (schema === turn || schema === usage) expect(accepted).toBeGreaterThanOrEqual(2)
  })

  it('takes nothing it does not know to be the same: unions, records, formats, refinements, defaults', () => {
    const cases: [$ZodType, unknown][] = [
      [z.union([z.string(), z.number()]), 'a'],
      [z.record(z.string(), z.string()), { a: 'b' }],
      [z.email(), 'a@b.c'],
      [z.int(), 1.5],
      [z.int(), 1],
      [z.string().refine(() => false), 'a'],
      [z.object({ a: z.string().default('d') }), {}],
      [z.object({ a: z.string().default('d') }), { a: 'x' }],
      [z.object({ a: z.string().optional().default('d') }), {}],
      [z.object({ a: z.string().optional(), b: z.string() }), { b: 'y', a: 'x' }],
      [z.object({ a: z.string() }).passthrough(), { a: 'x' }],
      [z.strictObject({ a: z.string() }), { a: 'x' }],
      [z.literal(1), 1],
      [z.string().max(1), 'ab'],
      [z.array(z.string()).max(1), ['a', 'b']],
    ]
    for (const [schema, value] of cases) expect(sameJsonCheck(schema)(value)).toBe(false)
  })

  it("takes an optional key present or absent, in the schema's order, as zod does", () => {
    const schema = z.object({ a: z.string().optional(), b: z.string(), c: z.string().nullable().optional() })
    const values: unknown[] = [
      { a: 'x', b: 'y', c: 'z' },
      { b: 'y' },
      { a: 'x', b: 'y' },
      { b: 'y', c: null },
      { a: undefined, b: 'y', c: undefined },
      { b: 'y', a: 'x' },
      { a: 'x' },
      { a: 1, b: 'y' },
      { b: 'y', c: 1 },
      { b: 'y', d: 1 },
    ]
    expect(values.map((v) => agreesWithZod(schema, v))).toEqual([
      ...[true, true, true, true, true],
      ...[false, false, false, false, false],
    ])
    // a turn stored before it had an approval policy
    const { approvalPolicy: _, ...older } = turnExample
    expect(agreesWithZod(turn, older)).toBe(true)
  })

  it('counts code points as zod does, or leaves it to zod', () => {
    const atLeastTwo = z.string().min(2)
    for (const v of ['ab', '\u{1F600}', '\u{1F600}\u{1F600}', 'abcd', 'a']) agreesWithZod(atLeastTwo, v)
    expect(sameJsonCheck(atLeastTwo)('\u{1F600}')).toBe(false)
    expect(sameJsonCheck(turnInput)([{ type: 'text', text: 'Say ok.' }])).toBe(true)
    expect(sameJsonCheck(turnInput)([])).toBe(false)
  })

  it("takes a discriminated union's value as its option does (a turn's input items), and no other union", () => {
    const image = { type: 'localImage', path: 'shots/a.png' }
    const text = { type: 'text', text: 'look' }
    const values: unknown[] = [
      [text, image],
      [image],
      [{ type: 'localImage', path: '' }],
      [{ type: 'localImage', text: 'x' }],
      [{ path: 'a.png', type: 'localImage' }],
      [{ ...image, text: 'x' }],
      [{ type: 'image', path: 'a.png' }],
      [{ type: 'text', path: 'a.png' }],
      [null],
      ['a.png'],
    ]
    expect(values.map((v) => agreesWithZod(turnInput, v))).toEqual([
      ...[true, true],
      ...[false, false, false, false, false, false, false, false],
    ])
    // options sharing a tag, or not objects: left to zod
    const twice = z.discriminatedUnion('t', [
      z.object({ t: z.literal('a'), x: z.string() }),
      z.object({ t: z.literal('a'), y: z.string() }),
    ])
    expect(sameJsonCheck(twice)({ t: 'a', y: 'b' })).toBe(false)
  })

  it('accepts a turn as the gateway builds it, and as the store gives it back after its updates', async () => {
    const store = new SqliteStore(path.join(tempDir('same-json-'), 'gw.db'))
    stores.push(store)
    await store.registerNode(nodeRecord('node_a'))
    await store.createSession(newSession('ses_a'), 'node_a')
    const queued = queuedTurn('ses_a', [{ type: 'text', text: 'Say ok.' }])
    expect(agreesWithZod(turn, queued)).toBe(true)
    await store.createTurn(queued)
    await store.updateTurn(queued.id, { status: 'running', startedAt: new Date().toISOString() })
    const ended = (
      await store.updateTurn(queued.id, {
        status: 'completed',
        agentTurnId: 'agent-turn',
        finishedAt: new Date().toISOString(),
        finalResponse: 'ok',
        usage: { inputTokens: 10, cachedInputTokens: 0, outputTokens: 2, reasoningOutputTokens: 0 },
      })
    )?.turn
    expect(agreesWithZod(turn, ended)).toBe(true)
    expect(agreesWithZod(turn, await store.getTurn(queued.id))).toBe(true)
  })
})
