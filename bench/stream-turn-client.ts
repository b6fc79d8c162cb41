import http2 from 'node:http2'
import { WebSocket } from 'ws'
import { BenchError } from './options.js'

/**
 * Seed 004's two framings of POST /agent/stream over h2c (docs/agent-stream.md; length prefixes need no scan for
 * the end of a frame), or `ws`: the same frames over GET /agent/ws, one per WebSocket message.
 */
export type StreamFraming = 'length-prefixed' | 'ndjson' | 'ws'

export const streamFramings: readonly StreamFraming[] = ['length-prefixed', 'ndjson', 'ws']

const contentTypes: Record<Exclude<StreamFraming, 'ws'>, string> = {
  'length-prefixed': 'application/length-prefixed-json',
  ndjson: 'application/x-ndjson',
}

const completed = 'Agent run completed.'

type Frame = {
  type?: string
  message?: string
  code?: string
  responseItem?: { type?: string; content?: { type?: string; text?: string }[] }
}

/** One warm turn as the stream client saw it. */
export interface StreamTurn {
  /** From just before the `user_message` frame was written until the "Agent run completed." frame was decoded. */
  totalMs: number
  /** The `output_text` of the assistant `message` items of the turn. */
  texts: string[]
  /** Every frame type of the turn, in order (for the check after the clock stopped). */
  frames: string[]
}

/**
 * A client of the gateway's `POST /agent/stream` (seed 004) holding ONE long-lived h2c stream for all its turns, as
 * a direct app-server client holds one stdio pipe: a turn is a `user_message` frame, done when the
 * "Agent run completed." status frame arrives (sent after the turn's end was stored, so the client has the turn's
 * end and, in the `item` frames before it, its final message; the direct client's turn/completed follows its
 * agentMessage the same way). Like the direct client it does little per frame: one JSON.parse and a few property
 * reads; the answer is checked after the clock stopped.
 */
export class StreamTurnClient {
  private readonly h2: http2.ClientHttp2Session | undefined
  private readonly stream: http2.ClientHttp2Stream | undefined
  private readonly ws: WebSocket | undefined
  private readonly opened: Promise<void>
  private pending: Buffer = Buffer.alloc(0)
  private waiting:
    | { texts: string[]; frames: string[]; resolve: (at: number) => void; reject: (err: Error) => void }
    | undefined
  private failure: Error | undefined

  constructor(
    url: string,
    /** The client's own session id (the gateway session's externalId). */
    readonly sessionId: string,
    readonly framing: StreamFraming,
  ) {
    if (framing === 'ws') {
      const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/agent/ws`, ['agent-stream'])
      this.ws = ws
      this.opened = new Promise((resolve, reject) => {
        ws.once('open', resolve)
        ws.once('error', reject)
      })
      ws.on('message', (data) => this.frame(JSON.parse(String(data)) as Frame))
      ws.on('error', (err) => this.fail(err))
      ws.on('close', () => this.fail(new BenchError('ws: closed by the gateway')))
      return
    }
    this.opened = Promise.resolve()
    this.h2 = http2.connect(url)
    this.h2.on('error', (err) => this.fail(err))
    this.stream = this.h2.request({
      ':method': 'POST',
      ':path': '/agent/stream',
      'content-type': contentTypes[framing],
    })
    this.stream.on('data', (chunk: Buffer) => this.read(chunk))
    this.stream.on('error', (err) => this.fail(err))
    this.stream.on('close', () => this.fail(new BenchError('stream: closed by the gateway')))
  }

  async turn(text: string, timeoutMs: number): Promise<StreamTurn> {
    if (this.waiting) throw new BenchError('stream: a turn is already running')
    await this.opened
    if (this.failure) throw this.failure
    const texts: string[] = []
    const frames: string[] = []
    let timer: NodeJS.Timeout | undefined
    const done = new Promise<number>((resolve, reject) => {
      this.waiting = { texts, frames, resolve, reject }
      timer = setTimeout(() => {
        this.waiting = undefined
        reject(new BenchError(`stream: no "${completed}" within ${timeoutMs} ms: ${frames.join(', ')}`))
      }, timeoutMs)
    })
    // every frame names the session (the first one creates it)
    const frame = { type: 'user_message', sessionId: this.sessionId, content: text }
    const message = this.ws ? JSON.stringify(frame) : this.encode(frame)
    const t0 = performance.now()
    if (this.ws) this.ws.send(message)
    else this.stream!.write(message)
    try {
      const at = await done
      return { totalMs: at - t0, texts, frames }
    } finally {
      clearTimeout(timer)
    }
  }

  close(): void {
    this.waiting = undefined
    this.failure ??= new BenchError('stream: closed')
    this.ws?.close()
    if (this.stream && !this.stream.closed) this.stream.close()
    this.h2?.close()
  }

  private encode(value: unknown): Buffer {
    const json = Buffer.from(JSON.stringify(value))
    if (this.framing === 'ndjson') return Buffer.concat([json, Buffer.from('\n')])
    const prefix = Buffer.alloc(4)
    prefix.writeUInt32BE(json.length)
    return Buffer.concat([prefix, json])
  }

  private read(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk
    if (this.framing === 'length-prefixed')
      while (this.pending.length >= 4) {
        const size = this.pending.readUInt32BE(0)
        if (this.pending.length < 4 + size) break
        this.frame(JSON.parse(this.pending.toString('utf8', 4, 4 + size)) as Frame)
        this.pending = this.pending.subarray(4 + size)
      }
    else
      for (let nl = this.pending.indexOf(10); nl !== -1; nl = this.pending.indexOf(10)) {
        const line = this.pending.toString('utf8', 0, nl)
        this.pending = this.pending.subarray(nl + 1)
        if (line.trim()) this.frame(JSON.parse(line) as Frame)
      }
  }

  private frame(f: Frame): void {
    const w = this.waiting
    if (!w) return
    if (f.type === 'status' && f.message === completed) {
      this.waiting = undefined
      w.frames.push('status:completed')
      w.resolve(performance.now())
      return
    }
    w.frames.push(f.type === 'error' ? `error:${f.code}:${f.message}` : String(f.type))
    if (f.type === 'item' && f.responseItem?.type === 'message')
      for (const part of f.responseItem.content ?? [])
        if (part.type === 'output_text' && typeof part.text === 'string') w.texts.push(part.text)
  }

  private fail(err: Error): void {
    this.failure ??= err
    const w = this.waiting
    this.waiting = undefined
    w?.reject(this.failure)
  }
}
