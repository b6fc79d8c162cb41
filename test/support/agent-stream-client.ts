import type http2 from 'node:http2'
import type { Session } from '../../src/protocol/sessions.js'

/** A server frame as a test reads it. */
export type Frame = Record<string, unknown> & { type: string }

export type TestFraming = 'ndjson' | 'length-prefixed'

const contentType: Record<TestFraming, string> = {
  ndjson: 'application/x-ndjson',
  'length-prefixed': 'application/length-prefixed-json',
}

/** Bytes of one frame, encoded here independently of the server's codec. */
export function encode(framing: TestFraming, value: unknown): Buffer {
  const json = Buffer.from(typeof value === 'string' ? value : JSON.stringify(value))
  if (framing === 'ndjson') return Buffer.concat([json, Buffer.from('\n')])
  const prefix = Buffer.alloc(4)
  prefix.writeUInt32BE(json.length)
  return Buffer.concat([prefix, json])
}

/**
 * One POST /agent/stream on an HTTP/2 session: write frames (or raw bytes), wait for frames by predicate.
 * Frames are decoded here (not with the server's decoder).
 */
export class AgentStreamClient {
  readonly frames: Frame[] = []
  /** For each frame of `frames`, the read (the stream's `data` event, counted from 0) that completed it. */
  readonly readOf: number[] = []
  private reads = 0
  status = 0
  headers: http2.IncomingHttpHeaders = {}
  readonly ended: Promise<void>
  private readonly stream: http2.ClientHttp2Stream
  private pending = Buffer.alloc(0)
  private waiters: (() => void)[] = []
  private done = false

  constructor(
    session: http2.ClientHttp2Session,
    readonly framing: TestFraming,
    headers: Record<string, string> = {},
    path = '/agent/stream',
  ) {
    this.stream = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': contentType[framing],
      ...headers,
    })
    this.stream.on('response', (h) => {
      this.status = Number(h[':status'])
      this.headers = h
    })
    this.stream.on('data', (chunk: Buffer) => this.decode(chunk))
    this.stream.on('error', () => {})
    // The server reset the stream after its complete response (RST_STREAM NO_ERROR, RFC 9113 section 8.1: stop
    // sending): the client abandons its request body. Node's client stream would otherwise never close when a
    // write of it was in flight as the reset came (its writable side never finishes).
    this.stream.on('end', () => {
      if (this.stream.closed) this.stream.destroy()
    })
    this.ended = new Promise((resolve) =>
      this.stream.on('close', () => {
        this.done = true
        this.wake()
        resolve()
      }),
    )
  }

  /** Writes bytes and resolves once they were handed to the session (a separate DATA frame). */
  writeRaw(bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) =>
      this.stream.write(bytes, (err) => (err ? reject(err) : resolve())),
    )
  }

  send(frame: unknown): Promise<void> {
    return this.writeRaw(encode(this.framing, frame))
  }

  /** The code of the RST_STREAM that closed the stream (NO_ERROR, 0, also when it ended without one). */
  get rstCode(): number | undefined {
    return this.stream.rstCode
  }

  /** Ends the client's side; with `last`, those bytes go with the end (one DATA frame with END_STREAM, as curl's). */
  end(last?: Buffer): void {
    this.stream.end(last)
  }

  /** The HTTP/2 stream's id on its session. */
  get streamId(): number | undefined {
    return this.stream.id
  }

  /** Stops reading: HTTP/2 flow control then holds the server's writes (a slow reader). */
  pause(): void {
    this.stream.pause()
  }

  resume(): void {
    this.stream.resume()
  }

  /** Resets the stream (the client vanishes). */
  reset(): void {
    this.stream.close()
  }

  /** The first frame from index `from` matching `match`; fails if the stream ends first. */
  async next(match: (f: Frame) => boolean, from = 0): Promise<Frame> {
    for (;;) {
      const found = this.frames.slice(from).find(match)
      if (found) return found
      if (this.done)
        throw new Error(`stream ended without the frame; got ${JSON.stringify(this.frames, null, 1)}`)
      await new Promise<void>((resolve) => this.waiters.push(resolve))
    }
  }

  status_(message: string, from = 0): Promise<Frame> {
    return this.next((f) => f.type === 'status' && f.message === message, from)
  }

  /** The output_text of every `message` item so far. */
  texts(): string[] {
    return this.frames
      .filter((f) => f.type === 'item')
      .map((f) => f.responseItem as { type: string; content?: { type: string; text: string }[] })
      .filter((i) => i.type === 'message')
      .flatMap((i) => (i.content ?? []).filter((c) => c.type === 'output_text').map((c) => c.text))
  }

  private decode(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk])
    const read = this.reads++
    for (;;) {
      if (this.framing === 'ndjson') {
        const nl = this.pending.indexOf(0x0a)
        if (nl === -1) break
        const line = this.pending.subarray(0, nl).toString()
        this.pending = this.pending.subarray(nl + 1)
        if (line.trim()) this.frames.push(JSON.parse(line) as Frame)
      } else {
        if (this.pending.length < 4) break
        const size = this.pending.readUInt32BE(0)
        if (this.pending.length < 4 + size) break
        this.frames.push(JSON.parse(this.pending.subarray(4, 4 + size).toString()) as Frame)
        this.pending = this.pending.subarray(4 + size)
      }
    }
    while (this.readOf.length < this.frames.length) this.readOf.push(read)
    this.wake()
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w()
  }
}

/** The gateway session of the /agent/stream or /agent/ws session a client named `clientId` (its externalId). */
export async function streamSession(gatewayUrl: string, clientId: string): Promise<Session> {
  const list = (await (await fetch(`${gatewayUrl}/v1/sessions?limit=100`)).json()) as { sessions: Session[] }
  const found = list.sessions.find((s) => s.externalId === clientId)
  if (!found) throw new Error(`no gateway session for ${clientId}`)
  return found
}
