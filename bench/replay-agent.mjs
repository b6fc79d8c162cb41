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

/** One line of about `bytes` bytes including the newline; the timestamps are taken last. */
const line = (i) => {
  const t = performance.timeOrigin + performance.now()
  const m = Number(process.hrtime.bigint()) / 1e6
  const head = `{"i":${i},"t":${t},"m":${m},"pad":"`
  return `${head}${'x'.repeat(Math.max(0, bytes - head.length - 3))}"}\n`
}

/** Resolves once `text` is handed to the kernel (or buffered by Node if the pipe is full). */
const write = (text) =>
  new Promise((resolve) => {
    if (process.stdout.write(text)) resolve()
    else process.stdout.once('drain', resolve)
  })

for (let i = 0; i < events; ) {
  let chunk = ''
  for (const end = Math.min(events, i + batch); i < end; i++) chunk += line(i)
  await write(chunk)
  if (i < events) await (interval > 0 ? sleep(interval) : yieldNow())
}
