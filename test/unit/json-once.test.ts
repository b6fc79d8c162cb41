import { afterEach, describe, expect, it, vi } from 'vitest'
import { jsonBytesOnce, jsonFramed, jsonOnce, parseJsonOnce } from '../../src/util/json-once.js'

afterEach(() => vi.restoreAllMocks())

describe('jsonOnce', () => {
  it('encodes an object once however many times it is asked for', () => {
    const stringify = vi.spyOn(JSON, 'stringify')
    const ev = { type: 'output', seq: 1, data: 'x\ny' }
    const texts = Array.from({ length: 5 }, () => jsonOnce(ev))
    expect(new Set(texts)).toEqual(new Set(['{"type":"output","seq":1,"data":"x\\ny"}']))
    expect(stringify).toHaveBeenCalledTimes(1)
    jsonOnce({ ...ev })
    expect(stringify).toHaveBeenCalledTimes(2)
  })

  it('a value parsed with parseJsonOnce reuses the text it was read from', () => {
    const stringify = vi.spyOn(JSON, 'stringify')
    const text = '{"a":1,"b":[2]}'
    const value = parseJsonOnce<{ a: number }>(text)
    expect(value).toEqual({ a: 1, b: [2] })
    expect(jsonOnce(value)).toBe(text)
    expect(stringify).not.toHaveBeenCalled()
  })
})

describe('jsonBytesOnce', () => {
  it('is the UTF-8 of the JSON text, built once, for ASCII and for any other text', () => {
    for (const data of [
      'plain "quoted"\n',
      'héllo wörld',
      'price: €5 😀',
      'lone \ud800 surrogate',
      '\u2028',
    ]) {
      const ev = { type: 'output', seq: 1, data }
      const bytes = jsonBytesOnce(ev)
      expect(bytes.equals(Buffer.from(jsonOnce(ev), 'utf8'))).toBe(true)
      expect(JSON.parse(bytes.toString('utf8'))).toEqual(ev)
      expect(jsonBytesOnce(ev)).toBe(bytes)
    }
  })

  it("keeps no text of its own: a stored event's JSON lives on as its bytes, not also as a string on the heap", () => {
    const stringify = vi.spyOn(JSON, 'stringify')
    const ev = { type: 'output', seq: 1, data: 'x'.repeat(1000) }
    const bytes = jsonBytesOnce(ev)
    expect(stringify).toHaveBeenCalledTimes(1)
    // the text was not kept beside the bytes: asking for it encodes again (nothing on the hot path does)
    expect(jsonOnce(ev)).toBe(bytes.toString('utf8'))
    expect(stringify).toHaveBeenCalledTimes(2)
    expect(jsonBytesOnce(ev)).toBe(bytes)
    expect(jsonFramed(ev, 'data: ', 2).toString('utf8')).toBe(`data: ${bytes.toString('utf8')}\n\n`)
    expect(stringify).toHaveBeenCalledTimes(2)
  })

  it('reuses the text a value was read from, then lets it go: the bytes stay, not the text as well', () => {
    const stringify = vi.spyOn(JSON, 'stringify')
    const value = parseJsonOnce<object>('{"data":"ü"}')
    expect(jsonBytesOnce(value).toString('utf8')).toBe('{"data":"ü"}')
    expect(stringify).not.toHaveBeenCalled()
    // an event read back for a stalled stream held its data twice on the heap (value and text) while it waited
    expect(jsonOnce(value)).toBe('{"data":"ü"}')
    expect(stringify).toHaveBeenCalledTimes(1)
  })
})

describe('jsonFramed', () => {
  it('is head + JSON bytes + newlines over the same memory as the bytes, without touching them', () => {
    const ev = { type: 'output', seq: 4, data: 'héllo\n' }
    const bytes = jsonBytesOnce(ev)
    const json = JSON.stringify(ev)
    const frame = jsonFramed(ev, 'id: 4\nevent: output\ndata: ', 2)
    expect(frame.toString('utf8')).toBe(`id: 4\nevent: output\ndata: ${json}\n\n`)
    expect(frame.buffer).toBe(bytes.buffer)
    expect(jsonFramed(ev, '', 1).toString('utf8')).toBe(`${json}\n`)
    expect(bytes.toString('utf8')).toBe(json)
    // the same head again is the same view; another head is a copy and leaves the first frame as it was
    expect(jsonFramed(ev, 'id: 4\nevent: output\ndata: ', 2).equals(frame)).toBe(true)
    const other = jsonFramed(ev, 'data: ', 2)
    expect(other.toString('utf8')).toBe(`data: ${json}\n\n`)
    expect(frame.toString('utf8')).toBe(`id: 4\nevent: output\ndata: ${json}\n\n`)
    const long = `event: ${'x'.repeat(100)}\ndata: `
    expect(jsonFramed(ev, long, 2).toString('utf8')).toBe(`${long}${json}\n\n`)
    expect(frame.toString('utf8')).toBe(`id: 4\nevent: output\ndata: ${json}\n\n`)
  })

  it("never writes into another value's memory (small values share Buffer's pool)", () => {
    const values = Array.from({ length: 200 }, (_, i) => ({ seq: i, data: 'x'.repeat(i % 7) }))
    const bytes = values.map((v) => jsonBytesOnce(v))
    const frames = values.map((v) => jsonFramed(v, `id: ${v.seq}\ndata: `, 2))
    values.forEach((v, i) => {
      expect(bytes[i]!.toString('utf8')).toBe(JSON.stringify(v))
      expect(frames[i]!.toString('utf8')).toBe(`id: ${v.seq}\ndata: ${JSON.stringify(v)}\n\n`)
    })
  })
})
