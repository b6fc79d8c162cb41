import { readFileSync } from 'node:fs'
import path from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { describe, expect, it } from 'vitest'
import { classify, parseMessage } from '../../src/agents/codex-app-server/rpc-message.js'

const recorded = readFileSync(
  path.join(import.meta.dirname, '../../bench/replay-app-server/codex-0.169.0-turn.jsonl'),
  'utf8',
)
  .split('\n')
  .filter((line) => line.trim())

const fields: Record<string, unknown[]> = {
  jsonrpc: ['2.0', '1.0', 2, null],
  id: [1, 0, -1, 1.5, 'a', '', null, true, {}, []],
  method: ['turn/started', '', 1, null, {}],
  params: [{ threadId: 't' }, null, [], 'x', 0],
  result: [{}, null, 'ok', 0, []],
  error: [{ code: -32600, message: 'bad' }, { code: 'x', message: 'bad' }, { code: 1 }, null, 'e'],
}

/** Every combination of some of the envelope's fields, each with each of its values (and absent). */
function envelopes(): Record<string, unknown>[] {
  let out: Record<string, unknown>[] = [{}]
  for (const [key, values] of Object.entries(fields))
    out = out.flatMap((e) => [e, ...values.map((v) => ({ ...e, [key]: v }))])
  return out
}

describe('parseMessage', () => {
  it('classifies every envelope as zod does, with the same data and the same reasons', () => {
    const all = envelopes()
    expect(all.length).toBeGreaterThan(10_000)
    for (const value of all) {
      const line = JSON.stringify(value)
      const parsed = parseMessage(line)
      const expected = classify(JSON.parse(line) as object)
      // expect() per envelope (71,280 of them) took 13-28 s of CPU; the strictly equal pairs pass toEqual anyway
      if (!isDeepStrictEqual(parsed, expected)) expect(parsed, line).toEqual(expected)
    }
  })

  it("reads codex's recorded turn as zod does", () => {
    for (const line of recorded) {
      const message = parseMessage(line)
      expect(message.kind).not.toBe('invalid')
      expect(message).toEqual(classify(JSON.parse(line) as object))
    }
  })

  it('still says why a line is not a message', () => {
    expect(parseMessage('{')).toEqual({ kind: 'invalid', reason: 'not JSON' })
    expect(parseMessage('[]')).toEqual({ kind: 'invalid', reason: 'not a JSON object' })
    expect(parseMessage('{"method":1}')).toMatchObject({ kind: 'invalid', reason: /malformed notification/ })
    expect(parseMessage('{"jsonrpc":"1.0","id":1,"result":{}}')).toMatchObject({
      kind: 'invalid',
      reason: /malformed response/,
    })
  })
})
