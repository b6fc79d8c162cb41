import { describe, expect, it } from 'vitest'
import {
  encodeFrame,
  encodeFrames,
  FrameDecodeError,
  FrameDecoder,
  framingOf,
} from '../../src/http/compat/agent-stream-codec.js'

const lp = (json: string) => {
  const body = Buffer.from(json)
  const prefix = Buffer.alloc(4)
  prefix.writeUInt32BE(body.length)
  return Buffer.concat([prefix, body])
}

describe('agent-stream framing', () => {
  it('content type chooses: length-prefixed only by its exact type, NDJSON otherwise', () => {
    expect(framingOf('application/length-prefixed-json')).toBe('length-prefixed')
    expect(framingOf('Application/Length-Prefixed-JSON; charset=utf-8')).toBe('length-prefixed')
    for (const t of ['application/x-ndjson', 'application/json', '', undefined])
      expect(framingOf(t)).toBe('ndjson')
  })

  it('NDJSON: split anywhere, several per chunk, blank lines skipped, a last unterminated line kept', () => {
    const text = '{"a":1}\n\n{"b":"é"}\r\n{"c":3}'
    const bytes = Buffer.from(text)
    for (let cut = 1; cut < bytes.length; cut++) {
      const d = new FrameDecoder('ndjson', 1000)
      const out = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut)), ...d.end()]
      expect(out).toEqual([{ a: 1 }, { b: 'é' }, { c: 3 }])
    }
  })

  it('length-prefixed: byte-by-byte and all at once decode the same; the prefix counts UTF-8 bytes', () => {
    const bytes = Buffer.concat([lp('{"x":"ü€"}'), lp('{"y":2}')])
    const whole = new FrameDecoder('length-prefixed', 1000)
    expect(whole.push(bytes)).toEqual([{ x: 'ü€' }, { y: 2 }])
    const slow = new FrameDecoder('length-prefixed', 1000)
    const out: unknown[] = []
    for (const b of bytes) out.push(...slow.push(Buffer.from([b])))
    expect(out).toEqual([{ x: 'ü€' }, { y: 2 }])
    expect(slow.end()).toEqual([])
  })

  it('bad input: invalid JSON, a prefix beyond the limit, an over-long line, a stream ending mid-frame', () => {
    expect(() => new FrameDecoder('ndjson', 100).push(Buffer.from('{nope\n'))).toThrow(FrameDecodeError)
    const big = Buffer.alloc(4)
    big.writeUInt32BE(101)
    expect(() => new FrameDecoder('length-prefixed', 100).push(big)).toThrow(/exceeds the limit of 100/)
    expect(() => new FrameDecoder('ndjson', 10).push(Buffer.from('x'.repeat(11)))).toThrow(/exceeds/)
    const partial = new FrameDecoder('length-prefixed', 100)
    partial.push(lp('{"a":1}').subarray(0, 6))
    expect(() => partial.end()).toThrow(/ended inside a frame/)
  })

  it('encodes what it decodes', () => {
    for (const framing of ['ndjson', 'length-prefixed'] as const) {
      const d = new FrameDecoder(framing, 1000)
      expect(d.push(encodeFrame(framing, { type: 'status', message: 'ok\nline' }))).toEqual([
        { type: 'status', message: 'ok\nline' },
      ])
    }
    expect(lp('{"a":1}')).toEqual(encodeFrame('length-prefixed', { a: 1 }))
  })

  it('several frames in one buffer: the bytes of each frame encoded alone, one after the other', () => {
    const values = [{ type: 'status', message: 'Agent idle...' }, { x: 'ü€\n' }, { y: 2 }]
    for (const framing of ['ndjson', 'length-prefixed'] as const) {
      const together = encodeFrames(framing, values)
      expect(together).toEqual(Buffer.concat(values.map((v) => encodeFrame(framing, v))))
      expect(new FrameDecoder(framing, 1000).push(together)).toEqual(values)
    }
  })
})
