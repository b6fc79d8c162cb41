import { isAscii } from 'node:buffer'
import type { Readable } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'
import { agentLineChars } from '../util/agent-line.js'

/**
 * Yields complete lines (without the newline, CRLF-safe) from a byte stream, UTF-8 safe across chunk borders.
 * A line longer than `maxLineChars` is yielded in pieces of that size, so one runaway line cannot exhaust memory.
 * A stream destroyed before its end (spawn-group.ts closes an output a daemon held open) ends the lines as its
 * end would: the last line read, even without its newline, is yielded.
 */
export async function* readLines(stream: Readable, maxLineChars = agentLineChars): AsyncGenerator<string> {
  for await (const part of readLineParts(stream, maxLineChars)) yield part.text
}

/** A line, or a piece of a line longer than the reader's limit: `cut` when the line goes on in the next part. */
export interface LinePart {
  text: string
  cut: boolean
  /** The longest this line was read as one: maxLineChars, or what `longerLine` allowed it. */
  limit: number
}

/**
 * How long a line longer than maxLineChars may be read as one, told by its first `lineHeadChars` characters (at
 * least maxLineChars; asked once a line, when it outgrows maxLineChars). One kind of line may need more room than
 * any other (codex app-server's answer with a thread's history) without every line getting it.
 */
export type LongerLine = (head: string) => number
export const lineHeadChars = 1024

/**
 * readLines, saying of each piece of a line longer than its limit that it was cut (one that needs to know). A
 * line's limit is maxLineChars, or `longerLine`'s for a line that outgrows it.
 */
export async function* readLineParts(
  stream: Readable,
  maxLineChars = agentLineChars,
  longerLine?: LongerLine,
): AsyncGenerator<LinePart> {
  const decoder = new StringDecoder('utf8')
  // the line read so far (after the last newline), in the pieces it came in: joined once, when it ends or is cut
  let held: string[] = []
  let heldChars = 0
  // its limit, once it outgrew maxLineChars (until it ends)
  let lineLimit: number | undefined
  const limitOf = (head: string) =>
    longerLine ? Math.max(maxLineChars, longerLine(head.slice(0, lineHeadChars))) : maxLineChars
  const take = () => {
    const line = held.length === 1 ? (held[0] as string) : held.join('')
    held = []
    heldChars = 0
    return line
  }
  try {
    for await (const chunk of stream) {
      const text = decoder.write(chunk as Buffer)
      let start = 0
      // only the new text is searched for a newline: a long line is not scanned (and joined) once a chunk
      let newline = text.indexOf('\n')
      while (newline !== -1) {
        const line = stripCr(heldChars > 0 ? take() + text.slice(start, newline) : text.slice(start, newline))
        const limit = lineLimit ?? (line.length > maxLineChars ? limitOf(line) : maxLineChars)
        lineLimit = undefined
        yield* pieces(line, limit)
        start = newline + 1
        newline = text.indexOf('\n', start)
      }
      if (start < text.length) {
        held.push(start === 0 ? text : text.slice(start))
        heldChars += text.length - start
      }
      if (heldChars <= (lineLimit ?? maxLineChars)) continue
      let line = take()
      lineLimit ??= limitOf(line)
      // Keep a trailing '\r' with the rest: it may be the first half of a CRLF split across chunks.
      while (line.length > lineLimit) {
        if (line.length === lineLimit + 1 && line.endsWith('\r')) break
        yield { text: line.slice(0, lineLimit), cut: true, limit: lineLimit }
        line = line.slice(lineLimit)
      }
      held = line.length > 0 ? [line] : []
      heldChars = line.length
    }
  } catch (err) {
    if (!prematureClose(err)) throw err
  }
  const rest = take() + decoder.end()
  if (rest.length > 0) {
    const line = stripCr(rest)
    yield* pieces(line, lineLimit ?? (line.length > maxLineChars ? limitOf(line) : maxLineChars))
  }
}

/** Yields decoded text chunks as they arrive (for raw stdout/stderr frames); a destroyed stream ends as readLines'. */
export async function* readText(stream: Readable): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8')
  try {
    for await (const chunk of stream) {
      const text = decoder.write(chunk as Buffer)
      if (text) yield text
    }
  } catch (err) {
    if (!prematureClose(err)) throw err
  }
  const rest = decoder.end()
  if (rest) yield rest
}

/**
 * Calls `push` with each decoded text chunk as it is read (UTF-8 safe across chunk borders, like readText) and
 * resolves once the stream ended, failed or closed. For a hot path (an agent's raw output): the chunk goes from
 * the read callback to `push` directly, without an async iterator and a generator between them, and ASCII
 * (most output) is copied, not decoded.
 */
export function onText(stream: Readable, push: (text: string) => void): Promise<void> {
  const decoder = new StringDecoder('utf8')
  return new Promise((resolve) => {
    const onData = (chunk: Buffer) => {
      const text = pending(decoder) === 0 && isAscii(chunk) ? chunk.toString('latin1') : decoder.write(chunk)
      if (text) push(text)
    }
    const finish = () => {
      stream.off('data', onData)
      stream.off('end', finish)
      stream.off('error', finish)
      stream.off('close', finish)
      const rest = decoder.end()
      if (rest) push(rest)
      resolve()
    }
    stream.on('data', onData)
    stream.once('end', finish)
    stream.once('error', finish)
    stream.once('close', finish)
  })
}

/**
 * Bytes of a character split at the previous chunk's end that the decoder still waits for (its `lastNeed`, which
 * Node 20-24 have but do not document); unknown counts as pending, so the decoder then decodes as always.
 */
const pending = (decoder: StringDecoder): number => (decoder as { lastNeed?: number }).lastNeed ?? 1

const prematureClose = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE'

function* pieces(line: string, max: number): Generator<LinePart> {
  if (line.length <= max) {
    yield { text: line, cut: false, limit: max }
    return
  }
  for (let i = 0; i < line.length; i += max)
    yield { text: line.slice(i, i + max), cut: i + max < line.length, limit: max }
}

const stripCr = (line: string) => (line.endsWith('\r') ? line.slice(0, -1) : line)
