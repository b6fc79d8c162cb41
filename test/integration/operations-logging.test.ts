import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, startServer } from '../../src/http/server.js'
import type { Run } from '../../src/protocol/runs.js'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { apiClient } from '../support/api-client.js'
import { gatewayEnv } from '../support/gateway.js'

interface LogLine {
  msg: string
  reqId?: string
  runId?: string
  sessionId?: string
  event?: string
  [key: string]: unknown
}

/** Log lines of a real server: one request id per request, the run or session id on every line about it. */
describe('request-id logging', () => {
  let mock: MockLlm
  let server: RunningServer
  const lines: LogLine[] = []
  const token = 'log-test-secret-token'

  beforeAll(async () => {
    mock = await startMockLlm()
    const { env, dir } = gatewayEnv(mock, { LOG_LEVEL: 'info', API_TOKENS: `ops:${token}:admin` })
    const logStream = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as LogLine)
        done()
      },
    })
    server = await startServer({ env, cwd: dir, logStream })
  })
  afterAll(async () => {
    await server?.close()
    await mock?.close()
  })

  it('a run: the client request id is echoed and every line of the request and of the run names it', async () => {
    const api = apiClient(server.url, token)
    mock.script({ kind: 'text', text: 'logged answer' })
    const res = await fetch(`${server.url}/v1/runs?wait=true`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'x-request-id': 'req-abc.1',
      },
      body: JSON.stringify({ prompt: 'log me' }),
    })
    expect(res.headers.get('x-request-id')).toBe('req-abc.1')
    const run = (await res.json()) as Run
    expect(run.status).toBe('succeeded')
    const ofRequest = lines.filter((l) => l.reqId === 'req-abc.1')
    expect(ofRequest.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['incoming request', 'request completed']),
    )
    expect(ofRequest.find((l) => l.msg === 'request completed')?.runId).toBe(run.id)
    const ofRun = lines.filter((l) => l.runId === run.id && l.event)
    expect(ofRun.map((l) => l.event)).toEqual([
      'run.queued',
      'run.started',
      'turn.started',
      'turn.completed',
      'run.completed',
    ])
    expect(ofRun.at(-1)).toMatchObject({ status: 'succeeded', reason: 'exited' })

    // A later request about the same run: its own request id, the run id on its lines; a streamed reply too.
    const read = await api.get(`/v1/runs/${run.id}`)
    const readId = read.headers.get('x-request-id')!
    expect(readId).toMatch(/^[0-9a-f-]{36}$/)
    expect(readId).not.toBe('req-abc.1')
    expect(lines.find((l) => l.reqId === readId && l.msg === 'request completed')?.runId).toBe(run.id)
    const stream = await api.get(`/v1/runs/${run.id}/events`, { accept: 'application/x-ndjson' })
    expect(stream.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    await stream.text()
  })

  it('an unusable x-request-id is replaced; a session turn logs with the session id', async () => {
    const api = apiClient(server.url, token)
    const res = await fetch(`${server.url}/v1/sessions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'x-request-id': 'has spaces',
      },
      body: '{}',
    })
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    const session = (await res.json()) as Session
    mock.script({ kind: 'text', text: 'turn logged' })
    const turn = await api.json<Turn>(
      api.post(`/v1/sessions/${session.id}/turns?wait=true`, { input: 'hi' }),
      200,
    )
    expect(turn.status).toBe('completed')
    const turnRequest = lines.filter((l) => l.msg === 'request completed' && l.sessionId === session.id)
    expect(turnRequest.length).toBeGreaterThanOrEqual(2)
    const ofSession = lines.filter((l) => l.sessionId === session.id && l.event)
    expect(ofSession.map((l) => l.event)).toEqual(expect.arrayContaining(['turn.started', 'turn.completed']))
    expect(ofSession.find((l) => l.event === 'turn.completed')?.turnId).toBe(turn.id)
  })

  it('no line carries the token or the prompt', () => {
    const all = JSON.stringify(lines)
    expect(all).not.toContain(token)
    expect(all).not.toContain('log me')
  })
})
