import type { Readable } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'

/**
 * Yields complete lines (without the newline) from a byte stream, UTF-8 safe across chunk borders.
 * A line longer than `maxLineChars` is cut and yielded in pieces so one runaway line cannot exhaust memory.
 */
export async function* readLines(stream: Readable, maxLineChars = 8 * 1024 * 1024): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8')
  let buffered = ''
  for await (const chunk of stream) {
    buffered += decoder.write(chunk as Buffer)
    let newline = buffered.indexOf('\n')
    while (newline !== -1) {
      yield stripCr(buffered.slice(0, newline))
      buffered = buffered.slice(newline + 1)
      newline = buffered.indexOf('\n')
    }
    while (buffered.length > maxLineChars) {
      yield buffered.slice(0, maxLineChars)
      buffered = buffered.slice(maxLineChars)
    }
  }
  buffered += decoder.end()
  if (buffered.length > 0) yield stripCr(buffered)
}

/** Yields decoded text chunks as they arrive (for raw stdout/stderr frames). */
export async function* readText(stream: Readable): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8')
  for await (const chunk of stream) {
    const text = decoder.write(chunk as Buffer)
    if (text) yield text
  }
  const rest = decoder.end()
  if (rest) yield rest
}

const stripCr = (line: string) => (line.endsWith('\r') ? line.slice(0, -1) : line)
