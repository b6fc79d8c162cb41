import { Readable } from 'node:stream'
import { readLineParts } from '../src/process/lines.js'

/**
 * How the agent line reader's time grows with a line's length (process/lines.ts `readLineParts`): one JSON line of
 * N MiB (codex app-server's answer with a thread's history) read in 64 KiB chunks, as a pipe gives it, beside the
 * same bytes as lines of 100 characters. Reading should grow with the bytes, not their square: the ratio of a long
 * line to short lines stays near 1 whatever N. Usage: npx tsx bench/long-line.ts [MiB ...] (default 8 16 32).
 */
const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0)
const mibs = sizes.length ? sizes : [8, 16, 32]
const chunkBytes = 64 * 1024

const chunked = (text: string) => {
  const bytes = Buffer.from(text)
  const out: Buffer[] = []
  for (let i = 0; i < bytes.length; i += chunkBytes) out.push(bytes.subarray(i, i + chunkBytes))
  return out
}

async function readMs(chunks: Buffer[]): Promise<number> {
  const started = performance.now()
  let chars = 0
  for await (const part of readLineParts(Readable.from(chunks), 256 * 1024 * 1024)) chars += part.text.length
  if (chars === 0) throw new Error('nothing read')
  return performance.now() - started
}

const best = async (chunks: Buffer[], rounds = 3) => {
  let ms = Number.POSITIVE_INFINITY
  for (let i = 0; i < rounds; i++) ms = Math.min(ms, await readMs(chunks))
  return ms
}

console.log('| MiB | one line ms | short lines ms | ratio | one line ms per MiB |')
console.log('| ---: | ---: | ---: | ---: | ---: |')
for (const mib of mibs) {
  const chars = mib * 1024 * 1024
  const long = chunked(`{"id":1,"result":"${'x'.repeat(chars - 20)}"}\n`)
  const short = chunked(`${'y'.repeat(99)}\n`.repeat(chars / 100))
  const [one, many] = [await best(long), await best(short)]
  console.log(
    `| ${mib} | ${one.toFixed(0)} | ${many.toFixed(0)} | ${(one / many).toFixed(2)} | ${(one / mib).toFixed(1)} |`,
  )
}
