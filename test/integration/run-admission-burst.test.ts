import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Run } from '../../src/protocol/runs.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayModules, postJson, startGateway, type TestGateway } from '../support/gateway.js'
import { processesUnder, waitUntilGone } from '../support/processes.js'

interface RawAnswer {
  status: number
  headers: Record<string, string>
  body: string
}

/**
 * Sends one POST per socket, every socket connected first and every request written in the same tick, so
 * the server reads the whole burst in one pass of its event loop (what a load balancer in front does).
 */
async function burst(url: string, bodies: unknown[]): Promise<RawAnswer[]> {
  const { hostname, port } = new URL(url)
  const sockets = await Promise.all(
    bodies.map(
      () =>
        new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(Number(port), hostname, () => resolve(s))
          s.once('error', reject)
        }),
    ),
  )
  const answers = sockets.map(
    (s) =>
      new Promise<RawAnswer>((resolve, reject) => {
        let raw = ''
        s.setEncoding('utf8')
        s.on('data', (chunk) => {
          raw += chunk
        })
        s.once('error', reject)
        s.once('end', () => resolve(parse(raw)))
      }),
  )
  sockets.forEach((s, i) => {
    const body = JSON.stringify(bodies[i])
    s.write(
      `POST /v1/runs HTTP/1.1\r\nhost: ${hostname}:${port}\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    )
  })
  return Promise.all(answers)
}

function parse(raw: string): RawAnswer {
  const [head = '', body = ''] = raw.split('\r\n\r\n')
  const [statusLine = '', ...lines] = head.split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body }
}

gatewayModules()

/** Issue 9 item 9: admission is atomic, so a burst cannot slip past MAX_QUEUED_RUNS. */
describe('run admission under a burst (real sockets, real codex)', () => {
  let mock: MockLlm
  let gw: TestGateway

  beforeAll(async () => {
    mock = await startMockLlm()
    gw = await startGateway(mock, { MAX_CONCURRENT_RUNS: '3', MAX_QUEUED_RUNS: '5' })
  })
  afterAll(async () => {
    await gw?.close()
    await mock?.close()
  })

  it('100 concurrent submissions admit at most MAX_CONCURRENT_RUNS + MAX_QUEUED_RUNS; the rest get 429 + Retry-After', async () => {
    mock.setDefault({ kind: 'text', text: 'slow', delayMs: 30_000 })
    const answers = await burst(
      gw.url,
      Array.from({ length: 100 }, (_, i) => ({ prompt: `burst ${i}` })),
    )
    const accepted: Run[] = []
    for (const res of answers) {
      if (res.status === 202) {
        // HTTP/1.1 with connection: close may still be chunked: the JSON is the part between the braces.
        accepted.push(JSON.parse(res.body.slice(res.body.indexOf('{'), res.body.lastIndexOf('}') + 1)) as Run)
        continue
      }
      expect(res.status).toBe(429)
      expect(res.headers['retry-after']).toMatch(/^\d+$/)
      expect(res.body).toContain('over_capacity')
    }
    expect(accepted.length).toBeGreaterThanOrEqual(1)
    expect(accepted.length).toBeLessThanOrEqual(3 + 5)
    // The refused submissions stored nothing.
    const listed = (await (await fetch(`${gw.url}/v1/runs?limit=100`)).json()) as { runs: Run[] }
    expect(listed.runs.map((r) => r.id).sort()).toEqual(accepted.map((r) => r.id).sort())

    const cancelled = await Promise.all(
      accepted.map(
        async (r) => (await postJson(`${gw.url}/v1/runs/${r.id}/cancel`, {})).json() as Promise<Run>,
      ),
    )
    for (const r of cancelled) expect(r.status).toBe('cancelled')
    expect(await waitUntilGone(() => processesUnder(gw.workspace))).toEqual([])
  }, 60_000)
})
