import { StringDecoder } from 'node:string_decoder'
import { createParser } from 'eventsource-parser'
import { LineDecoder } from '../src/client/line-decoder.js'
import { sseFrames } from '../src/client/sse-connection.js'

/**
 * The published client's SSE reader (src/client/sse-connection.ts), CPU per MB of a burst's frames: its decode
 * before (a streaming `TextDecoder`, `decode(chunk, { stream: true })`, which Node 20 runs through ICU) and now
 * (LineDecoder: whole lines, a non-streaming decode), each feeding the same eventsource-parser, alternating, over
 * the same chunks; beside them Node's StringDecoder (what test/support/sse-client.ts uses; not loadable in a
 * browser) and the whole reader (sseFrames over a ReadableStream, as fetch gives it) as it is now. Two streams:
 * `ascii` (most agent output) and `mixed` (every 10th frame with an é and an emoji: every read holds non-ASCII).
 * Prints the medians (process.cpuUsage, user + system) per MB and the ratio before / now.
 * Usage: npx tsx bench/sse-decode.ts [--mb 4] [--reps 9] [--reads 16,64] (read sizes in KiB)
 */
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : process.argv[i + 1]!
}
const mb = Number(arg('mb', '4'))
const reps = Number(arg('reps', '9'))
const reads = arg('reads', '16,64').split(',').map(Number)

/** Output events as a burst relays them; every `nonAsciiEvery`th frame's text has an é and an emoji (0: none). */
function stream(nonAsciiEvery: number): { bytes: Uint8Array; frames: number } {
  const frames: string[] = []
  for (let seq = 1, bytes = 0; bytes < mb * 1e6; seq++) {
    const text =
      nonAsciiEvery > 0 && seq % nonAsciiEvery === 0
        ? `line ${seq}: caf\u00e9 \u{1F600} ${'y'.repeat(120)}`
        : `line ${seq}: ${'x'.repeat(150)}`
    const frame = `id: ${seq}\nevent: output\ndata: ${JSON.stringify({ type: 'output', seq, stream: 'stdout', data: text })}\n\n`
    frames.push(frame)
    bytes += Buffer.byteLength(frame)
  }
  return { bytes: new TextEncoder().encode(frames.join('')), frames: frames.length }
}

const cpuMs = (work: () => void): number => {
  const start = process.cpuUsage()
  work()
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1000
}
const cpuMsAsync = async (work: () => Promise<void>): Promise<number> => {
  const start = process.cpuUsage()
  await work()
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1000
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** A decoder's text for each chunk, as the reader feeds it to its parser. */
type Decode = (chunk: Uint8Array) => string
const decoders: Record<'before' | 'now' | 'node', () => Decode> = {
  before: () => {
    const decoder = new TextDecoder()
    return (c) => decoder.decode(c, { stream: true })
  },
  now: () => {
    const decoder = new LineDecoder()
    return (c) => decoder.write(c)
  },
  node: () => {
    const decoder = new StringDecoder('utf8')
    return (c) => decoder.write(c)
  },
}
/** Decodes the chunks; with `parse`, feeds the text to eventsource-parser as the reader does. The frames seen. */
function read(chunks: Uint8Array[], decode: Decode, parse: boolean): number {
  let count = 0
  const parser = createParser({ onEvent: () => count++ })
  for (const chunk of chunks) {
    const text = decode(chunk)
    if (parse && text) parser.feed(text)
  }
  return count
}
/** The whole reader as it is now: sseFrames over a ReadableStream of the chunks, as fetch gives it. */
async function wholeReader(chunks: Uint8Array[]): Promise<number> {
  const answer = async () =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (const c of chunks) controller.enqueue(c)
          controller.close()
        },
      }),
    )
  let count = 0
  for await (const _ of sseFrames('http://127.0.0.1:1/', { headers: {}, fetch: answer })) count++
  return count
}

console.log(`Node ${process.version}; ${mb} MB per stream; medians of ${reps}; CPU ms per MB`)
console.log(
  '| stream | read KiB | decode before (streaming TextDecoder) | decode now (LineDecoder) | ratio | StringDecoder (Node only) | decode + parse before | now | ratio | sseFrames now |',
)
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
for (const [name, nonAsciiEvery] of [
  ['ascii', 0],
  ['mixed', 10],
] as const) {
  const { bytes: all, frames } = stream(nonAsciiEvery)
  const megabytes = all.length / 1e6
  for (const kib of reads) {
    const size = kib * 1024
    const chunks: Uint8Array[] = []
    for (let at = 0; at < all.length; at += size) chunks.push(all.slice(at, at + size))
    for (const which of ['before', 'now', 'node'] as const)
      if (read(chunks, decoders[which](), true) !== frames) throw new Error(`${which} misread the stream`)
    if ((await wholeReader(chunks)) !== frames) throw new Error('sseFrames misread the stream')
    const samples = new Map<string, number[]>()
    const sample = (key: string, ms: number) => samples.set(key, [...(samples.get(key) ?? []), ms])
    for (let i = 0; i < reps; i++) {
      // in turn, the order changing each rep, so that a change of the machine's load falls on all
      const order = i % 2 === 0 ? (['before', 'now', 'node'] as const) : (['node', 'now', 'before'] as const)
      for (const which of order)
        sample(
          `${which} decode`,
          cpuMs(() => read(chunks, decoders[which](), false)),
        )
      for (const which of order.filter((w) => w !== 'node'))
        sample(
          `${which} parse`,
          cpuMs(() => read(chunks, decoders[which](), true)),
        )
      sample('whole', await cpuMsAsync(async () => void (await wholeReader(chunks))))
    }
    const perMb = (key: string) => median(samples.get(key)!) / megabytes
    const cells = [
      perMb('before decode'),
      perMb('now decode'),
      perMb('before decode') / perMb('now decode'),
      perMb('node decode'),
      perMb('before parse'),
      perMb('now parse'),
      perMb('before parse') / perMb('now parse'),
      perMb('whole'),
    ]
    console.log(`| ${name} | ${kib} | ${cells.map((c) => c.toFixed(2)).join(' | ')} |`)
  }
}
