#!/usr/bin/env node
/**
 * A stand-in for a chatty agent, for bench/event-relay.ts: writes JSONL lines to stdout, each
 * `{"i":k,"t":<wall ms>,"m":<monotonic ms>,"pad":"..."}` padded to about 200 bytes.
 *   t  performance.timeOrigin + performance.now(): wall-clock ms with fractions, comparable across processes
 *      to the accuracy of each process's time origin
 *   m  process.hrtime() in ms: CLOCK_MONOTONIC on Linux, the same clock in every process, so a reader can
 *      compute exact cross-process latencies (the benchmark uses it, with `t` as a cross-check)
 *
 * Usage: node bench/replay-agent.mjs [--events N] [--batch B] [--interval MS] [--slow] [--bytes N]
 *   --events    lines to write, default 20000 (200 with --slow)
 *   --batch     lines per write, default 50; after each write the agent yields (setImmediate, or sleeps
 *               --interval ms), so output arrives in many small chunks like a streaming agent's
 *   --interval  ms to sleep between batches, default 0 (just yield to the event loop)
 *   --slow      one line every 100 ms (--batch 1 --interval 100): a long-running, quiet agent
 *   --bytes     approximate line length, default 200
 *   --fast-after MS, --fast-for MS   (with --slow) from MS ms after the start, for --fast-for ms, 4 KB lines, 10 every
 *               20 ms (~2 MB/s), then slow again: a quiet run that bursts once (for stalled readers)
 * Plain Node, no dependencies; exits 0 after the last line is flushed.
 */
import { setTimeout as sleep, setImmediate as yieldNow } from 'node:timers/promises'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    events: { type: 'string' },
    batch: { type: 'string' },
    interval: { type: 'string' },
    slow: { type: 'boolean', default: false },
    bytes: { type: 'string' },
    'fast-after': { type: 'string' },
    'fast-for': { type: 'string' },
  },
  strict: true,
})

const int = (raw, fallback, name) => {
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`replay-agent: --${name} must be a non-negative integer, got "${raw}"\n`)
    process.exit(2)
  }
  return n
}

const slow = values.slow
const events = int(values.events, slow ? 200 : 20000, 'events')
const batch = Math.max(1, int(values.batch, slow ? 1 : 50, 'batch'))
const interval = int(values.interval, slow ? 100 : 0, 'interval')
const bytes = int(values.bytes, 200, 'bytes')
const fastAfter = int(values['fast-after'], 0, 'fast-after')
const fastFor = int(values['fast-for'], 0, 'fast-for')
const started = performance.now()
/** Within the fast part (--fast-after, --fast-for). */
const fast = () => {
  const since = performance.now() - started
  return fastFor > 0 && since >= fastAfter && since < fastAfter + fastFor
}

/** One line of about `bytes` bytes including the newline; the timestamps are taken last. */
const line = (i, size = bytes) => {
  const t = performance.timeOrigin + performance.now()
  const m = Number(process.hrtime.bigint()) / 1e6
  const head = `{"i":${i},"t":${t},"m":${m},"pad":"`
  return `${head}${'x'.repeat(Math.max(0, size - head.length - 3))}"}\n`
}

/** Resolves once `text` is handed to the kernel (or buffered by Node if the pipe is full). */
const write = (text) =>
  new Promise((resolve) => {
    if (process.stdout.write(text)) resolve()
    else process.stdout.once('drain', resolve)
  })

for (let i = 0; i < events; ) {
  let chunk = ''
  const now = fast()
  for (const end = Math.min(events, i + (now ? 10 : batch)); i < end; i++)
    chunk += line(i, now ? 4096 : bytes)
  await write(chunk)
  if (i < events) await (now ? sleep(20) : interval > 0 ? sleep(interval) : yieldNow())
}
