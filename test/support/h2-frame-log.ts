import net from 'node:net'

/** An HTTP/2 frame the server sent, as its 9-byte header says (RFC 9113 section 4.1). */
export interface H2FrameSeen {
  type: 'DATA' | 'HEADERS' | 'RST_STREAM' | 'GOAWAY' | 'WINDOW_UPDATE' | 'other'
  /** Which of the proxy's connections carried it, counted from 0 in the order the clients connected. */
  connection: number
  streamId: number
  length: number
  endStream: boolean
  /** RST_STREAM's and GOAWAY's error code. */
  code?: number
  /** GOAWAY's last stream id: the streams up to it are answered. */
  lastStreamId?: number
}

const names: Record<number, H2FrameSeen['type']> = {
  0: 'DATA',
  1: 'HEADERS',
  3: 'RST_STREAM',
  7: 'GOAWAY',
  8: 'WINDOW_UPDATE',
}

/** A frame as a short word for a failure's message: `DATA+ES:0`, `RST_STREAM(0)`. */
export const frameWord = (f: H2FrameSeen): string =>
  `${f.type}${f.endStream ? '+ES' : ''}${f.code === undefined ? '' : `(${f.code})`}:${f.length}`

/**
 * A TCP proxy on 127.0.0.1 in front of an h2c server that records the frames the server sends on each stream, in
 * wire order: whether a response ended with END_STREAM, and whether an RST_STREAM came before or after it.
 */
export async function startH2FrameLog(target: string) {
  const { hostname, port } = new URL(target)
  const frames: H2FrameSeen[] = []
  const open = new Set<net.Socket>()
  let connections = 0
  const server = net.createServer((client) => {
    const connection = connections++
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
          connection,
          streamId: pending.readUInt32BE(5) & 0x7fffffff,
          length,
          endStream: (type === 'DATA' || type === 'HEADERS') && (pending[4]! & 0x1) !== 0,
          ...(type === 'RST_STREAM' ? { code: pending.readUInt32BE(9) } : {}),
          ...(type === 'GOAWAY'
            ? { lastStreamId: pending.readUInt32BE(9) & 0x7fffffff, code: pending.readUInt32BE(13) }
            : {}),
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
    /**
     * The frames of one stream (the connection's own, stream 0, are left out): of the given connection, or of any
     * (a test with one connection).
     */
    of: (streamId: number, connection?: number) =>
      frames.filter(
        (f) => f.streamId === streamId && (connection === undefined || f.connection === connection),
      ),
    /** The connection-level frames (stream 0: SETTINGS, GOAWAY, WINDOW_UPDATE) of one connection. */
    ofConnection: (connection: number) =>
      frames.filter((f) => f.streamId === 0 && f.connection === connection),
    /** How many connections the proxy took so far. */
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy()
        server.close(() => resolve())
      }),
  }
}
