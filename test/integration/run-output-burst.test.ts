import { afterEach, describe, expect, it } from 'vitest'
import { maxCoalescedChars } from '../../src/core/output-coalescing.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import { gatewayModules, postJson, readNdjson, startGateway } from '../support/gateway.js'
import { readSseUntil } from '../support/sse-client.js'

/**
 * An agent that writes as fast as it can: 60 writes of 50 lines (~10 KB, some not ASCII) to stdout, yielding to its
 * event loop after each (so its output arrives in many reads), and a stderr line after every tenth.
 */
const burst = `
const line = (i) => JSON.stringify({ i, pad: 'x'.repeat(180), quote: '"\\\\', u: i % 7 ? '' : 'h\\u00e9llo \\u65e5\\u672c' }) + '\\n'
let n = 0
const next = () => {
  if (n === 60) return
  let text = ''
  for (let k = 0; k < 50; k++) text += line(n * 50 + k)
  n++
  const more = () => (n % 10 === 0 ? process.stderr.write('err ' + n + '\\n', () => setImmediate(next)) : setImmediate(next))
  if (process.stdout.write(text)) more()
  else process.stdout.once('drain', more)
}
next()
`
const expectedStdout = Array.from(
  { length: 3000 },
  (_, i) => `${JSON.stringify({ i, pad: 'x'.repeat(180), quote: '"\\', u: i % 7 ? '' : 'héllo 日本' })}\n`,
).join('')
const expectedStderr = Array.from({ length: 6 }, (_, k) => `err ${(k + 1) * 10}\n`).join('')

const text = (events: StoredEvent[], stream: 'stdout' | 'stderr') =>
  events.map((e) => (e.type === 'output' && e.stream === stream ? e.data : '')).join('')

gatewayModules()

/** A burst of a cli agent's output over the real server: what the live stream gets is what is stored, whole. */
describe('a burst of raw output, streamed live (real server, SQLite)', () => {
  const closers: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const close of closers.splice(0)) await close()
  })

  it('the live SSE stream carries every byte in order, in the same events (seq, content) as the replay', async () => {
    const gw = await startGateway(null, { CLI_LIST: 'node' })
    closers.push(() => gw.close())
    const res = await postJson(
      `${gw.url}/v1/runs`,
      { agent: 'cli', command: { cli: 'node', args: ['-e', burst] } },
      { accept: 'text/event-stream' },
    )
    expect(res.status).toBe(200)
    const live: StoredEvent[] = []
    const ids: number[] = []
    await readSseUntil(res, (frame) => {
      const ev = JSON.parse(frame.data) as StoredEvent
      live.push(ev)
      ids.push(Number(frame.id))
      expect(frame.event).toBe(ev.type)
      return ev.type === 'run.completed'
    })
    expect(live.at(-1)).toMatchObject({ type: 'run.completed', status: 'succeeded', exitCode: 0 })
    expect(ids).toEqual(live.map((e) => e.seq))
    expect(ids).toEqual(Array.from({ length: live.length }, (_, i) => i + 1))
    expect(text(live, 'stdout')).toBe(expectedStdout)
    expect(text(live, 'stderr')).toBe(expectedStderr)
    for (const ev of live)
      if (ev.type === 'output') expect(ev.data.length).toBeLessThanOrEqual(maxCoalescedChars)

    const runId = live[0]!.runId
    const replay = await readNdjson(
      await fetch(`${gw.url}/v1/runs/${runId}/events`, { headers: { accept: 'application/x-ndjson' } }),
    )
    expect(replay).toEqual(live)
  })
})
