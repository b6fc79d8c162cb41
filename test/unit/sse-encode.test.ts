import { describe, expect, it } from 'vitest'
import { encodeSse } from '../../src/http/sse.js'

describe('encodeSse', () => {
  it('sends JSON text (escaped line breaks, no raw ones) as one data line', () => {
    const json = JSON.stringify({ type: 'output', data: 'a\nb\r\nc"d' })
    expect(encodeSse({ id: 7, event: 'output', data: json })).toBe(`id: 7\nevent: output\ndata: ${json}\n\n`)
  })

  it('splits text with raw CR, LF or CRLF into one data line each', () => {
    expect(encodeSse({ data: 'a\rb\r\nc\nd' })).toBe('data: a\ndata: b\ndata: c\ndata: d\n\n')
    expect(encodeSse({ data: 'only\r' })).toBe('data: only\ndata: \n\n')
  })
})
