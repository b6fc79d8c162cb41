import { afterEach, describe, expect, it, vi } from 'vitest'
import { LineDecoder } from '../../src/client/line-decoder.js'
import { type SseFrame, sseFrames } from '../../src/client/sse-connection.js'

/** sseFrames over an answer whose body arrives in exactly these byte chunks. */
async function framesOf(chunks: Uint8Array[]): Promise<SseFrame[]> {
  const fetchChunks = async () =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (const c of chunks) controller.enqueue(c)
          controller.close()
        },
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    )
  const frames: SseFrame[] = []
  for await (const f of sseFrames('http://127.0.0.1:1/events', { headers: {}, fetch: fetchChunks }))
    frames.push({ ...f })
  return frames.map(({ id, event, data }) => ({
    ...(id !== undefined ? { id } : {}),
    ...(event !== undefined ? { event } : {}),
    data,
  }))
}

const encode = (text: string) => new TextEncoder().encode(text)
const emoji = '\u{1F600}' // four bytes in UTF-8

describe("the published client's SSE reader (src/client/sse-connection.ts) decodes whole lines", () => {
  afterEach(() => vi.restoreAllMocks())

  const stream = `id: 1\nevent: output\ndata: {"data":"h\u00e9llo ${emoji}"}\n\nid: 2\ndata: ${emoji}\n\n`
  const expected = [
    { id: '1', event: 'output', data: `{"data":"h\u00e9llo ${emoji}"}` },
    { id: '2', data: emoji },
  ]

  it('a four-byte character split at every offset of the stream (two reads), and every byte a read of its own', async () => {
    const bytes = encode(stream)
    for (let at = 0; at <= bytes.length; at++)
      expect(await framesOf([bytes.slice(0, at), bytes.slice(at)]), `split at ${at}`).toEqual(expected)
    expect(await framesOf([...bytes].map((b) => Uint8Array.of(b)))).toEqual(expected)
  })

  it('decodes ASCII without the streaming TextDecoder (Node 20 runs it through ICU, 2-7x the CPU per byte)', async () => {
    const decode = vi.spyOn(TextDecoder.prototype, 'decode')
    const ascii = encode('id: 1\nevent: output\ndata: {"data":"hello"}\n\nid: 2\ndata: x\n\n'.repeat(3))
    const chunks = [ascii.slice(0, 40), ascii.slice(40, 41), ascii.slice(41, 100), ascii.slice(100)]
    expect(await framesOf(chunks)).toHaveLength(6)
    expect(decode).toHaveBeenCalled()
    expect(decode.mock.calls.filter(([, options]) => options?.stream)).toEqual([])
  })

  it('text with non-ASCII characters, then ASCII again, in reads that cut lines and characters anywhere', () => {
    const text = `plain\n${emoji} caf\u00e9\nplain again\n\u00e9\nend\n`.repeat(4)
    const bytes = encode(text)
    for (const size of [1, 2, 3, 5, 7, 16, 33]) {
      const decoder = new LineDecoder()
      let out = ''
      for (let at = 0; at < bytes.length; at += size) out += decoder.write(bytes.slice(at, at + size))
      expect(out, `reads of ${size} bytes`).toBe(text)
    }
  })

  it("strips the stream's BOM only, and ends a line at a lone CR at once", async () => {
    expect(await framesOf([encode('\ufeffdata: a\n\n'), encode('data: \ufeffb\n\n')])).toEqual([
      { data: 'a' },
      { data: '\ufeffb' },
    ])
    const decoder = new LineDecoder()
    expect(decoder.write(encode('\ufeffdata: x\r'))).toBe('data: x\r')
    expect(decoder.write(encode('\ufeffdata: y'))).toBe('')
    expect(decoder.write(encode(' z\r\n\r\n'))).toBe('\ufeffdata: y z\r\n\r\n')
  })

  it('gives each line once, whole, wherever the reads cut it', () => {
    const bytes = encode(`a${emoji}\nbc\n${emoji}${emoji}\nlast`)
    for (let size = 1; size <= bytes.length; size++) {
      const decoder = new LineDecoder()
      let text = ''
      for (let at = 0; at < bytes.length; at += size) {
        const piece = decoder.write(bytes.slice(at, at + size))
        // every piece ends a line: nothing of a line not yet ended is given
        if (piece) expect(piece.endsWith('\n')).toBe(true)
        text += piece
      }
      expect(text, `reads of ${size} bytes`).toBe(`a${emoji}\nbc\n${emoji}${emoji}\n`)
    }
  })
})
