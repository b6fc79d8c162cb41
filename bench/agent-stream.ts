/**
 * /agent/stream against SSE on the same session, and many streams on one HTTP/2 connection
 * (`npx tsx bench/agent-stream.ts [--turns N] [--streams K]`).
 *
 * Starts the mock model server (text answers, no delay) and a gateway in this process, configured like the
 * integration tests (`gatewayEnv(mock)`), and one h2c connection to it. Then:
 *   1. latency: ONE session, N turns (default 30). The session is driven by a POST /agent/stream stream
 *      (NDJSON) while GET /v1/sessions/:id/events (SSE) follows the same session on the same connection. Per
 *      item, the time from the gateway storing its `item.completed` event (the event's `at`) to the moment each
 *      client has the frame; per transport the frames received and frames/s over the whole series.
 *   2. concurrency: K streams (default 100) opened at once on the same HTTP/2 connection, each with its own
 *      session and one prompt; wall time until every stream saw "Agent run completed.", completion times per
 *      stream, frames/s, and the gateway process's RSS before and after.
 * Not a test: exits 0 when every answer arrived, 1 otherwise. docs/benchmarks.md explains the output.
 */
import http2 from 'node:http2'
import { FrameDecoder } from '../src/http/compat/agent-stream-codec.js'
import { startServer } from '../src/http/server.js'
import { startMockLlm } from '../test/mock-llm/index.js'
import { gatewayEnv } from '../test/support/gateway.js'
import { BenchError, benchArgs, intOption } from './options.js'
import { markdownTable, median, percentile } from './stats.js'

type Frame = Record<string, unknown> & { type: string }

const { values } = benchArgs({ options: { turns: { type: 'string' }, streams: { type: 'string' } } })
const turns = intOption(values.turns, 30, '--turns')
const streams = intOption(values.streams, 100, '--streams')

/** One /agent/stream with frames timestamped on arrival. */
function openStream(session: http2.ClientHttp2Session) {
  const req = session.request({
    ':method': 'POST',
    ':path': '/agent/stream',
    'content-type': 'application/x-ndjson',
  })
  const decoder = new FrameDecoder('ndjson', 64 * 1024 * 1024)
  const frames: { frame: Frame; at: number }[] = []
  let wake: (() => void) | undefined
  req.on('data', (chunk: Buffer) => {
    const at = performance.timeOrigin + performance.now()
    for (const v of decoder.push(chunk)) frames.push({ frame: v as Frame, at })
    wake?.()
  })
  req.on('error', () => {})
  const until = async (match: (f: Frame) => boolean, from: number) => {
    for (;;) {
      const i = frames.findIndex((f, idx) => idx >= from && match(f.frame))
      if (i !== -1) return i
      if (req.closed) throw new BenchError(`stream closed early: ${JSON.stringify(frames.slice(-3))}`)
      await new Promise<void>((r) => {
        wake = r
      })
    }
  }
  const send = (f: unknown) => req.write(`${JSON.stringify(f)}\n`)
  return { req, frames, until, send }
}

/** SSE of a session's events with arrival times. */
function openSse(session: http2.ClientHttp2Session, sessionId: string, after: number) {
  const req = session.request({
    ':path': `/v1/sessions/${sessionId}/events?after=${after}`,
    accept: 'text/event-stream',
  })
  const events: { data: Record<string, unknown>; at: number }[] = []
  let buffered = ''
  req.setEncoding('utf8')
  req.on('data', (text: string) => {
    const at = performance.timeOrigin + performance.now()
    buffered += text
    for (let end = buffered.indexOf('\n\n'); end !== -1; end = buffered.indexOf('\n\n')) {
      const block = buffered.slice(0, end)
      buffered = buffered.slice(end + 2)
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n')
      if (data) events.push({ data: JSON.parse(data) as Record<string, unknown>, at })
    }
  })
  req.on('error', () => {})
  return { req, events }
}

async function main(): Promise<void> {
  const mock = await startMockLlm()
  const { env, dir } = gatewayEnv(mock, { APPROVAL_TIMEOUT_SECONDS: '60' })
  const gw = await startServer({ env, cwd: dir, logger: false })
  const h2 = http2.connect(gw.url)
  h2.on('error', () => {})
  try {
    // 1. Latency: one session, both transports.
    const answers = Array.from({ length: turns + 2 }, (_, i) => `answer number ${i}`)
    mock.script(...answers.map((text) => ({ kind: 'text' as const, text })))
    const stream = openStream(h2)
    const clientId = `bench-${process.pid}`
    stream.send({ type: 'user_message', sessionId: clientId, content: 'warm up' })
    let cursor = await stream.until((f) => f.type === 'status' && f.message === 'Agent run completed.', 0)
    const list = (await (await fetch(`${gw.url}/v1/sessions?limit=10`)).json()) as {
      sessions: { id: string; externalId?: string; lastSeq: number }[]
    }
    const gwSession = list.sessions.find((s) => s.externalId === clientId)
    if (!gwSession) throw new BenchError('the stream created no session')
    // Only the measured turns: the SSE client starts after what the warm-up turn stored.
    const sse = openSse(h2, gwSession.id, gwSession.lastSeq)
    const started = performance.now()
    const streamFramesBefore = stream.frames.length
    for (let i = 0; i < turns; i++) {
      stream.send({ type: 'user_message', sessionId: clientId, content: `question ${i}` })
      cursor = await stream.until(
        (f) => f.type === 'status' && f.message === 'Agent run completed.',
        cursor + 1,
      )
    }
    const elapsed = (performance.now() - started) / 1000
    const stored = new Map<string, number>()
    for (const e of sse.events)
      if (e.data.type === 'item.completed') {
        const item = e.data.item as { id: string; type: string }
        if (item.type === 'agent_message') stored.set(item.id, Date.parse(String(e.data.at)))
      }
    const sseLatency: number[] = []
    for (const e of sse.events)
      if (e.data.type === 'item.completed') {
        const at = stored.get((e.data.item as { id: string }).id)
        if (at !== undefined) sseLatency.push(e.at - at)
      }
    const streamLatency: number[] = []
    for (const { frame, at } of stream.frames.slice(streamFramesBefore))
      if (frame.type === 'item') {
        const t = stored.get((frame.responseItem as { id: string }).id)
        if (t !== undefined) streamLatency.push(at - t)
      }
    if (streamLatency.length < turns || sseLatency.length < turns)
      throw new BenchError(
        `items missing: stream ${streamLatency.length}, sse ${sseLatency.length} of ${turns}`,
      )
    const streamFrames = stream.frames.length - streamFramesBefore
    const fmt = (v: number) => v.toFixed(2)
    console.log(`\n## 1. Per-item latency, ${turns} turns on one session (ms from stored event to client)\n`)
    console.log(
      markdownTable(
        [
          ['transport', 'items', 'median', 'p90', 'max', 'frames', 'frames/s'],
          [
            '/agent/stream (h2c, NDJSON)',
            String(streamLatency.length),
            fmt(median(streamLatency)),
            fmt(percentile(streamLatency, 90)),
            fmt(Math.max(...streamLatency)),
            String(streamFrames),
            fmt(streamFrames / elapsed),
          ],
          [
            'SSE /v1/sessions/:id/events (h2c)',
            String(sseLatency.length),
            fmt(median(sseLatency)),
            fmt(percentile(sseLatency, 90)),
            fmt(Math.max(...sseLatency)),
            String(sse.events.length),
            fmt(sse.events.length / elapsed),
          ],
        ],
        [false, true, true, true, true, true, true],
      ),
    )
    console.log(`\nratio median stream/SSE: ${(median(streamLatency) / median(sseLatency)).toFixed(2)}`)
    stream.req.end()
    sse.req.close()

    // 2. K concurrent streams on the one connection.
    mock.reset()
    const rssBefore = process.memoryUsage().rss
    const t0 = performance.now()
    const many = Array.from({ length: streams }, () => openStream(h2))
    const done: number[] = []
    await Promise.all(
      many.map(async (s, i) => {
        s.send({ type: 'user_message', sessionId: `bench-many-${process.pid}-${i}`, content: `hello ${i}` })
        await s.until((f) => f.type === 'status' && f.message === 'Agent run completed.', 0)
        done.push(performance.now() - t0)
      }),
    )
    const wall = (performance.now() - t0) / 1000
    const frames = many.reduce((n, s) => n + s.frames.length, 0)
    const rssAfter = process.memoryUsage().rss
    console.log(`\n## 2. ${streams} concurrent /agent/stream streams on one HTTP/2 connection\n`)
    console.log(
      markdownTable(
        [
          [
            'streams',
            'wall s',
            'first done ms',
            'median done ms',
            'p90 done ms',
            'frames',
            'frames/s',
            'RSS +MB',
          ],
          [
            String(streams),
            wall.toFixed(2),
            fmt(Math.min(...done)),
            fmt(median(done)),
            fmt(percentile(done, 90)),
            String(frames),
            fmt(frames / wall),
            ((rssAfter - rssBefore) / 1024 / 1024).toFixed(1),
          ],
        ],
        [true, true, true, true, true, true, true, true],
      ),
    )
    for (const s of many) s.req.end()
  } finally {
    h2.close()
    await gw.close()
    await mock.close()
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof BenchError ? `bench: ${err.message}` : err)
    process.exit(1)
  },
)
