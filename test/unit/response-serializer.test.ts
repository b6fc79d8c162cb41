import { isResponseSerializationError, serializerCompiler as zodSerializer } from 'fastify-type-provider-zod'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { $ZodType } from 'zod/v4/core'
import { approvalExample, runExample, sessionExample, turnExample } from '../../src/http/openapi-examples.js'
import { encodesAsItParses, serializerCompiler } from '../../src/http/response-serializer.js'
import { agentMessageItem } from '../../src/protocol/items.js'
import { run } from '../../src/protocol/runs.js'
import { approval, session, turn } from '../../src/protocol/sessions.js'

/** What each serializer answers for `data` on a route whose response schema is `schema`. */
function serialize(schema: $ZodType, data: unknown) {
  const route = { schema, method: 'POST', url: '/v1/sessions/:id/turns', httpStatus: '200' }
  const ours = (serializerCompiler as (r: typeof route) => (d: unknown) => string)(route)
  const zods = (zodSerializer as (r: typeof route) => (d: unknown) => string)(route)
  return { ours: ours(data), zods: zods(data) }
}

const sessionWithTurns = session.extend({ turns: z.array(turn) })

/** Responses of the session and run routes, as stored and as clients get them: nulls, optional keys, extras. */
const cases: [string, $ZodType, unknown][] = [
  ['a completed turn', turn, turnExample],
  [
    'a queued turn',
    turn,
    {
      ...turnExample,
      agentTurnId: null,
      status: 'queued',
      startedAt: null,
      finishedAt: null,
      finalResponse: null,
      usage: null,
    },
  ],
  ['a failed turn', turn, { ...turnExample, status: 'failed', error: 'driver error: boom', usage: null }],
  // the store's document may carry more than the schema: both drop it, in the schema's key order
  ['a turn with keys in another order and one more', turn, { extra: 1, ...turnExample, id: 'turn_x' }],
  ['a session without its optional keys', session, sessionExample],
  [
    'a session with its optional keys',
    session,
    {
      ...sessionExample,
      externalId: 'mine',
      webhook: null,
      limits: { maxTurns: 3 },
      budgetBase: null,
      isolation: 'container',
      image: 'gw:1',
      tenant: 'acme',
    },
  ],
  ['a session with an optional key undefined', session, { ...sessionExample, tenant: undefined }],
  ['a session with its turns', sessionWithTurns, { ...sessionExample, turns: [turnExample, turnExample] }],
  ['an approval', approval, approvalExample],
  ['an agent message item', agentMessageItem, { id: 'i', type: 'agent_message', text: 'ok' }],
]

describe('the response serializer', () => {
  for (const [name, schema, data] of cases)
    it(`gives the same bytes as zod's encode: ${name}`, () => {
      expect(encodesAsItParses(schema)).toBe(true)
      const { ours, zods } = serialize(schema, data)
      expect(ours).toBe(zods)
    })

  it("leaves a run to zod's encode (its request's command has defaults), with the same bytes", () => {
    expect(encodesAsItParses(run)).toBe(false)
    const { ours, zods } = serialize(run, runExample)
    expect(ours).toBe(zods)
  })

  it('leaves a schema that encodes otherwise than it parses to zod (a codec, a default, a transform)', () => {
    const isoDate = z.codec(z.iso.datetime(), z.date(), {
      decode: (s) => new Date(s),
      encode: (d) => d.toISOString(),
    })
    const withCodec = z.object({ at: isoDate })
    const withDefault = z.object({ n: z.number().default(1) })
    const withTransform = z.object({ s: z.string().transform((s) => s.length) })
    expect(encodesAsItParses(withCodec)).toBe(false)
    expect(encodesAsItParses(withDefault)).toBe(false)
    expect(encodesAsItParses(withTransform)).toBe(false)
    const at = new Date('2026-12-03T00:00:00.000Z')
    const { ours, zods } = serialize(withCodec, { at })
    expect(ours).toBe(zods)
    expect(ours).toBe('{"at":"2026-12-03T00:00:00.000Z"}')
    expect(serialize(withDefault, { n: 2 }).ours).toBe(serialize(withDefault, { n: 2 }).zods)
  })

  it("encodes a turn the gateway built without zod's parse, and one with a key to drop with it", () => {
    // a copy of the turn schema whose parses are counted
    const counted = turn.extend({})
    const run = counted._zod.run
    let parses = 0
    counted._zod.run = (...args) => {
      parses++
      return run(...args)
    }
    const built = serialize(counted, { ...turnExample })
    expect(built.ours).toBe(built.zods)
    // zod's own serializer parsed once, ours not at all
    expect(parses).toBe(1)
    const extra = serialize(counted, { ...turnExample, extra: 1 })
    expect(extra.ours).toBe(extra.zods)
    expect(parses).toBe(3)
  })

  it("refuses a response its schema does not allow with zod's own error", () => {
    expect(() => serialize(turn, { ...turnExample, status: 'done' })).toThrow()
    try {
      serialize(turn, { ...turnExample, status: 'done' })
    } catch (err) {
      expect(isResponseSerializationError(err)).toBe(true)
    }
  })
})
