const lf = 0x0a
const cr = 0x0d
const bom = '\ufeff'

/**
 * UTF-8 bytes to text in whole lines: each `write` gives the text up to the chunk's last line end (LF or CR) and
 * keeps the bytes after it for the next one. A line end is one byte that is never part of a multi-byte character,
 * so every cut falls between characters and each piece is decoded on its own, nothing carried between them.
 *
 * Why not `decode(chunk, { stream: true })` on every chunk: on Node 20 the streaming decode goes through ICU, which
 * for ASCII (most agent output) costs 2-7x the CPU per byte of a whole decode (its fast path, as fast as
 * node:string_decoder), and an SSE follower of a burst decodes megabytes (bench/sse-decode.ts). For text with
 * non-ASCII characters the whole decode is the slower one (V8's UTF-8 decoder; StringDecoder's too): a piece that
 * follows one that held non-ASCII characters goes through the streaming decoder, the next after an ASCII piece
 * through the whole one. `node:string_decoder` cannot be loaded in a browser, where this runs too (the console
 * bundles src/client); a browser's decoders are native either way. An SSE parser needs nothing before a line's end
 * (and drops a last line the stream ended without one, so nothing is kept for the end).
 */
export class LineDecoder {
  // ignoreBOM: a whole decode would strip a U+FEFF that starts any piece; only the stream's first one is a BOM
  /** Never streaming: Node keeps its fast path only for a decoder never called with `stream: true`. */
  private readonly whole = new TextDecoder('utf-8', { ignoreBOM: true })
  /** Called with `stream: true` (ICU on Node 20); every piece ends a line, so it never holds bytes between them. */
  private readonly streaming = new TextDecoder('utf-8', { ignoreBOM: true })
  /** Whether the last chunk's piece held non-ASCII characters (its text shorter than its bytes). */
  private nonAscii = false
  /** The bytes after the last line end so far: a line not yet ended (read() hands its chunks over, none is reused). */
  private held: Uint8Array[] = []
  private heldBytes = 0
  private started = false

  /** The text of the lines that `chunk` ends (with their line ends), '' when it ends none. */
  write(chunk: Uint8Array): string {
    const last = lastLineEnd(chunk) + 1
    if (last === 0) {
      this.hold(chunk)
      return ''
    }
    let text = ''
    let from = 0
    if (this.heldBytes > 0) {
      // the line held back, up to its end in this chunk: only its bytes are copied, not the chunk's
      from = firstLineEnd(chunk) + 1
      text = this.decode(this.takeHeld(chunk.subarray(0, from)), false)
    }
    if (from < last) text += this.decode(chunk.subarray(from, last), true)
    this.hold(chunk.subarray(last))
    return text
  }

  private hold(bytes: Uint8Array): void {
    if (bytes.length === 0) return
    this.held.push(bytes)
    this.heldBytes += bytes.length
  }

  /** The held bytes followed by `head`, as one array; holds nothing after. */
  private takeHeld(head: Uint8Array): Uint8Array {
    const whole = new Uint8Array(this.heldBytes + head.length)
    let at = 0
    for (const part of this.held) {
      whole.set(part, at)
      at += part.length
    }
    whole.set(head, at)
    this.held = []
    this.heldBytes = 0
    return whole
  }

  /** `bytes` as text; `judge`: whether the next pieces' decoder follows what this one held (the held line's piece, a line's worth, does not). */
  private decode(bytes: Uint8Array, judge: boolean): string {
    const text = this.nonAscii ? this.streaming.decode(bytes, { stream: true }) : this.whole.decode(bytes)
    if (judge) this.nonAscii = text.length !== bytes.length
    if (this.started) return text
    this.started = true
    return text.startsWith(bom) ? text.slice(1) : text
  }
}

// A CR is looked for only where it could be the first (last) line end: a scan of a whole chunk costs about what
// decoding it does (TypedArray indexOf), and a stream with LF line ends (the gateway's) has no CR.

/** The index of the first line end (LF or CR) of a chunk, -1 if none. */
function firstLineEnd(chunk: Uint8Array): number {
  const lfAt = chunk.indexOf(lf)
  const crAt = (lfAt === -1 ? chunk : chunk.subarray(0, lfAt)).indexOf(cr)
  return crAt === -1 ? lfAt : crAt
}

/** The index of the last line end (LF or CR) of a chunk, -1 if none. */
function lastLineEnd(chunk: Uint8Array): number {
  const lfAt = chunk.lastIndexOf(lf)
  const crAt = chunk.subarray(lfAt + 1).lastIndexOf(cr)
  return crAt === -1 ? lfAt : lfAt + 1 + crAt
}
