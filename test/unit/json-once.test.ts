import { afterEach, describe, expect, it, vi } from 'vitest'
import { jsonBytesOnce, jsonOnce, parseJsonOnce } from '../../src/util/json-once.js'

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

  it('reuses the text a value was read from', () => {
    const stringify = vi.spyOn(JSON, 'stringify')
    const value = parseJsonOnce<object>('{"data":"ü"}')
    expect(jsonBytesOnce(value).toString('utf8')).toBe('{"data":"ü"}')
    expect(stringify).not.toHaveBeenCalled()
  })
})
