import { describe, expect, it } from 'vitest'
import { ndjsonLine, sseFrame } from '../../src/http/event-stream.js'
import { encodeSse } from '../../src/http/sse.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import { jsonOnce, parseJsonOnce } from '../../src/util/json-once.js'

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

describe('the frames of a stored event', () => {
  const stored = (data: string, seq = 3) =>
    ({
      type: 'output',
      stream: 'stdout',
      data,
      seq,
      at: '2026-12-02T05:00:00.000Z',
      runId: 'run_x',
    }) as StoredEvent

  it('are the SSE frame and NDJSON line of its JSON text, for ASCII and non-ASCII output, built once', () => {
    for (const ev of [
      stored('a\nb\r\nc"d'),
      stored('héllo € 😀\u2028'),
      parseJsonOnce<StoredEvent>(jsonOnce(stored('ü', 9))),
    ]) {
      const frame = sseFrame(ev)
      expect(frame.equals(Buffer.from(encodeSse({ id: ev.seq, event: ev.type, data: jsonOnce(ev) })))).toBe(
        true,
      )
      expect(frame.toString('utf8')).toBe(`id: ${ev.seq}\nevent: output\ndata: ${JSON.stringify(ev)}\n\n`)
      expect(sseFrame(ev)).toBe(frame)
      expect(ndjsonLine(ev).toString('utf8')).toBe(`${JSON.stringify(ev)}\n`)
    }
  })
})
