import { describe, expect, it } from 'vitest'
import { readSse } from '../support/sse-client.js'

/** A streamed response whose body arrives in exactly these byte chunks. */
const chunked = (chunks: Uint8Array[]) =>
  new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const c of chunks) controller.enqueue(c)
        controller.close()
      },
    }),
  )

describe("the tests' and benches' SSE reader (test/support/sse-client.ts)", () => {
  it('decodes a multi-byte character split across two reads, and a frame split across many', async () => {
    const bytes = Buffer.from(
      'id: 1\nevent: output\ndata: {"data":"h\u00e9llo \u{1F600}"}\n\nid: 2\ndata: x\n\n',
    )
    // every byte its own chunk: the two-byte é and the four-byte emoji each arrive in pieces
    const frames = await readSse(chunked([...bytes].map((b) => Uint8Array.of(b))))
    expect(frames).toEqual([
      { id: '1', event: 'output', data: '{"data":"h\u00e9llo \u{1F600}"}' },
      { id: '2', data: 'x' },
    ])
  })
})
