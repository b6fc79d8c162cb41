/**
 * Seed 004's two framings of JSON frames on one byte stream. The request's content type chooses; the
 * response mirrors it. Decoding is incremental (a frame may be split across chunks, several may share one)
 * and bounded: no frame may exceed `maxFrameBytes`.
 */
export type Framing = 'ndjson' | 'length-prefixed'

export const framingContentType: Record<Framing, string> = {
  ndjson: 'application/x-ndjson',
  'length-prefixed': 'application/length-prefixed-json',
}

/** `application/length-prefixed-json` selects length prefixes; anything else (or nothing) is NDJSON. */
export function framingOf(contentType: string | undefined): Framing {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase()
  return type === framingContentType['length-prefixed'] ? 'length-prefixed' : 'ndjson'
}

export class FrameDecodeError extends Error {}

const newline = 0x0a
const prefixBytes = 4

/** Turns bytes into parsed JSON values, frame by frame. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0)
  /**
   * A bad frame that followed good ones in the same chunk: `push` returned those, to be handled first (as the
   * original read frames one by one), and the caller throws this after them. Every later push throws it.
   */
  failure: FrameDecodeError | undefined

  constructor(
    private readonly framing: Framing,
    private readonly maxFrameBytes: number,
  ) {}

  /** Bytes of a frame not yet complete (0: the stream is between frames). */
  get partialBytes(): number {
    return this.pending.length
  }

  /** The values of every frame completed by `chunk`. Throws FrameDecodeError on bad input. */
  push(chunk: Buffer): unknown[] {
    if (this.failure) throw this.failure
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk
    const out: unknown[] = []
    try {
      if (this.framing === 'ndjson') this.lines(out)
      else this.prefixed(out)
    } catch (err) {
      if (!(err instanceof FrameDecodeError) || out.length === 0) throw err
      this.failure = err
    }
    return out
  }

  /** At the end of the stream: a last unterminated NDJSON line still counts; a partial prefixed frame is an error. */
  end(): unknown[] {
    const rest = this.pending
    this.pending = Buffer.alloc(0)
    if (rest.length === 0) return []
    if (this.framing === 'ndjson') return isBlank(rest) ? [] : [parse(rest)]
    throw new FrameDecodeError(`stream ended inside a frame (${rest.length} bytes left)`)
  }

  private lines(out: unknown[]): void {
    let start = 0
    for (let nl = this.pending.indexOf(newline); nl !== -1; nl = this.pending.indexOf(newline, start)) {
      const line = this.pending.subarray(start, nl)
      start = nl + 1
      this.checkSize(line.length)
      if (!isBlank(line)) out.push(parse(line))
    }
    this.pending = this.pending.subarray(start)
    this.checkSize(this.pending.length)
  }

  private prefixed(out: unknown[]): void {
    while (this.pending.length >= prefixBytes) {
      const size = this.pending.readUInt32BE(0)
      this.checkSize(size)
      if (this.pending.length < prefixBytes + size) break
      out.push(parse(this.pending.subarray(prefixBytes, prefixBytes + size)))
      this.pending = this.pending.subarray(prefixBytes + size)
    }
  }

  private checkSize(size: number): void {
    if (size > this.maxFrameBytes)
      throw new FrameDecodeError(`frame of ${size} bytes exceeds the limit of ${this.maxFrameBytes} bytes`)
  }
}

/** One frame on the wire. */
export function encodeFrame(framing: Framing, value: unknown): Buffer {
  return encodeFrames(framing, [value])
}

/** Frames one after the other in one buffer (one write, so one HTTP/2 DATA frame when they fit). */
export function encodeFrames(framing: Framing, values: readonly unknown[]): Buffer {
  const texts = values.map((v) => JSON.stringify(v))
  if (framing === 'ndjson') return Buffer.from(`${texts.join('\n')}\n`, 'utf8')
  const sizes = texts.map((t) => Buffer.byteLength(t, 'utf8'))
  const out = Buffer.allocUnsafe(sizes.reduce((sum, n) => sum + prefixBytes + n, 0))
  let at = 0
  texts.forEach((t, i) => {
    at = out.writeUInt32BE(sizes[i]!, at)
    at += out.write(t, at, 'utf8')
  })
  return out
}

function parse(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'))
  } catch (err) {
    throw new FrameDecodeError((err as Error).message)
  }
}

const isBlank = (bytes: Buffer) => bytes.toString('utf8').trim() === ''
