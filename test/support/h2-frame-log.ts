import net from 'node:net'

/** An HTTP/2 frame the server sent, as its 9-byte header says (RFC 9113 section 4.1). */
export interface H2FrameSeen {
  type: 'DATA' | 'HEADERS' | 'RST_STREAM' | 'other'
  streamId: number
  length: number
  endStream: boolean
  /** RST_STREAM's error code. */
  code?: number
}

const names: Record<number, H2FrameSeen['type']> = { 0: 'DATA', 1: 'HEADERS', 3: 'RST_STREAM' }

/**
 * A TCP proxy on 127.0.0.1 in front of an h2c server that records the frames the server sends on each stream, in
 * wire order: whether a response ended with END_STREAM, and whether an RST_STREAM came before or after it.
 */
export async function startH2FrameLog(target: string) {
  const { hostname, port } = new URL(target)
  const frames: H2FrameSeen[] = []
  const open = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname)
    for (const s of [client, upstream]) {
      open.add(s)
      s.on('close', () => open.delete(s))
      s.on('error', () => {})
    }
    client.pipe(upstream)
    let pending = Buffer.alloc(0)
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk)
      pending = Buffer.concat([pending, chunk])
      while (pending.length >= 9 && pending.length >= 9 + pending.readUIntBE(0, 3)) {
        const length = pending.readUIntBE(0, 3)
        const type = names[pending[3]!] ?? 'other'
        frames.push({
          type,
          streamId: pending.readUInt32BE(5) & 0x7fffffff,
          length,
          endStream: (type === 'DATA' || type === 'HEADERS') && (pending[4]! & 0x1) !== 0,
          ...(type === 'RST_STREAM' ? { code: pending.readUInt32BE(9) } : {}),
        })
        pending = pending.subarray(9 + length)
      }
    })
    upstream.on('end', () => client.end())
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    /** The frames of one stream (the connection's own, stream 0, are left out). */
    of: (streamId: number) => frames.filter((f) => f.streamId === streamId),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy()
        server.close(() => resolve())
      }),
  }
}
