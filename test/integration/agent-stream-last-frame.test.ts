import { describe, expect, it } from 'vitest'
import { AgentStreamClient, encode, type TestFraming } from '../support/agent-stream-client.js'
import { sharedH2Gateway } from '../support/gateway.js'

/**
 * Seed 004's `/agent/stream`: a bad last frame, then the client's end, is answered by its bytes, never by where the
 * reads split them. The same bytes go as one DATA frame with END_STREAM (curl's body), written and then ended on
 * their own, or cut at a few points (the last piece with the end). A complete frame that does not decode is a
 * mid-stream decode error (the server cannot know the client's end follows it): the error, the stream ends. A last
 * frame found bad only at the end (an unterminated NDJSON line, a length-prefixed frame cut short) gets the error,
 * then `terminate`, the answer to that end. A good frame before the bad one (a `cancel` before any `user_message`:
 * SESSION_NOT_INIT) is answered first, in the same read or not.
 */
describe('POST /agent/stream: a bad last frame, whatever the read boundaries', () => {
  const shared = sharedH2Gateway()

  /** The ways `bytes` may arrive: [pieces written one by one, the last with the end]. */
  const deliveries = (bytes: Buffer): Buffer[][] => {
    const n = bytes.length
    const cuts = [1, Math.floor(n / 2), n - 5, n - 1].filter((k) => k > 0 && k < n)
    return [[bytes], [bytes, Buffer.alloc(0)], ...cuts.map((k) => [bytes.subarray(0, k), bytes.subarray(k)])]
  }

  /** The frames' types and codes the server answers `pieces` with. */
  async function answer(framing: TestFraming, pieces: Buffer[]): Promise<string[]> {
    const c = new AgentStreamClient(shared.h2, framing)
    for (const piece of pieces.slice(0, -1)) await c.writeRaw(piece)
    const last = pieces.at(-1)!
    c.end(last.length > 0 ? last : undefined)
    await c.ended
    return c.frames.map((f) => (f.code ? `${f.type} ${f.code}` : f.type))
  }

  const decodeError = 'error FRAME_DECODING_ERROR'
  const notInit = 'error SESSION_NOT_INIT'
  for (const framing of ['ndjson', 'length-prefixed'] as const)
    it(`${framing}: the same bytes, split anywhere, get the same answer`, async () => {
      const cancel = encode(framing, { type: 'cancel', sessionId: 'none-yet' })
      const cases: [string, Buffer, string[]][] = [
        ['a complete frame that is no JSON', encode(framing, '{not json'), [decodeError]],
        ['a complete frame of no known type', encode(framing, { type: 'nope' }), [decodeError]],
        [
          'a good frame, then a complete bad one',
          Buffer.concat([cancel, encode(framing, '{not json')]),
          [notInit, decodeError],
        ],
        framing === 'ndjson'
          ? ['a last line without its newline', Buffer.from('{not json'), [decodeError, 'terminate']]
          : [
              'a last frame cut short',
              encode(framing, { type: 'nope' }).subarray(0, 9),
              [decodeError, 'terminate'],
            ],
        framing === 'ndjson'
          ? [
              'a good frame, then a bad unterminated line',
              Buffer.concat([cancel, Buffer.from('{x')]),
              [notInit, decodeError, 'terminate'],
            ]
          : [
              'a good frame, then one cut short',
              Buffer.concat([cancel, cancel.subarray(0, 6)]),
              [notInit, decodeError, 'terminate'],
            ],
      ]
      for (const [name, bytes, expected] of cases) {
        const answers: Record<string, string[]> = {}
        for (const pieces of deliveries(bytes))
          answers[pieces.map((p) => p.length).join('+')] = await answer(framing, pieces)
        expect({ name, answers }).toEqual({
          name,
          answers: Object.fromEntries(Object.keys(answers).map((split) => [split, expected])),
        })
      }
    })
})
