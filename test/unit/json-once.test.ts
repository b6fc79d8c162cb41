import { afterEach, describe, expect, it, vi } from 'vitest'
import { jsonOnce, parseJsonOnce } from '../../src/util/json-once.js'

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
