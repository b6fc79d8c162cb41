import { existsSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Session } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { AgentStreamClient, type Frame } from '../support/agent-stream-client.js'
import { agentWsClient } from '../support/agent-ws-client.js'
import { gatewayModules, startGateway, type TestGateway } from '../support/gateway.js'
import { h2connect } from '../support/h2-client.js'

const token = 'ws-test-token-0123456789'

/** net.Socket's one path to its handle's write or writev (Node internals, stable since Node 12). */
interface SocketInternals {
  _writeGeneric(writev: boolean, data: unknown, encoding: string, cb: (err?: Error) => void): unknown
}
const writeGeneric = (net.Socket.prototype as unknown as SocketInternals)._writeGeneric

gatewayModules()

describe('/agent/ws and API tokens', () => {
  let mock: MockLlm
  let gw: TestGateway
  beforeAll(async () => {
    mock = await startMockLlm()
    gw = await startGateway(mock, { API_TOKENS: token })
  })
  afterAll(async () => {
    await gw?.close()
    await mock?.close()
  })
  afterEach(() => mock.reset())

  const wsUrl = () => `${gw.url.replace(/^http/, 'ws')}/agent/ws`
  const bearerProtocol = `bearer.${Buffer.from(token).toString('base64url')}`

  it('without a token the upgrade is refused with 401; a wrong subprotocol token too', async () => {
    await expect(agentWsClient(wsUrl(), ['agent-stream']).opened).rejects.toThrow('HTTP 401')
    const wrong = `bearer.${Buffer.from('nope').toString('base64url')}`
    await expect(agentWsClient(wsUrl(), ['agent-stream', wrong]).opened).rejects.toThrow('HTTP 401')
    // A client that keeps the refused socket open does not keep it: the server closes it.
    const { port } = new URL(gw.url)
    const raw = net.connect(Number(port), '127.0.0.1')
    let answer = ''
    raw.on('data', (d) => {
      answer += d.toString()
    })
    raw.write(
      'GET /agent/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    )
    await new Promise((resolve) => raw.once('close', resolve))
    expect(answer).toMatch(/^HTTP\/1.1 401/)
  })

  it('the subprotocol token is taken on /agent/ws only: another route asked with `Upgrade: websocket` and it is 401', async () => {
    const { port } = new URL(gw.url)
    const ask = (head: string, body = '') =>
      new Promise<string>((resolve) => {
        const raw = net.connect(Number(port), '127.0.0.1')
        let answer = ''
        raw.on('data', (d) => {
          answer += d.toString()
          if (/\r\n\r\n/.test(answer)) raw.destroy()
        })
        raw.on('close', () => resolve(answer))
        raw.write(
          `${head}\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n` +
            `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: ${bearerProtocol}\r\n` +
            `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        )
      })
    // before: 200 (the run list) and 202 (a run queued), on a token the API takes only as `Authorization`
    expect(await ask('GET /v1/runs HTTP/1.1')).toMatch(/^HTTP\/1.1 401/)
    expect(await ask('POST /v1/runs HTTP/1.1', JSON.stringify({ prompt: 'over an upgrade' }))).toMatch(
      /^HTTP\/1.1 401/,
    )
    const listed = (await (
      await fetch(`${gw.url}/v1/runs`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { runs: { request: { prompt?: string } }[] }
    expect(listed.runs.filter((r) => r.request.prompt === 'over an upgrade')).toEqual([])
  })

  it('a browser-style client (token as subprotocol) runs a prompt with an approval', async () => {
    mock.script(
      { kind: 'exec_command', cmd: 'echo ws > over-ws.txt' },
      { kind: 'text', text: 'wrote over ws' },
    )
    const c = agentWsClient(wsUrl(), ['agent-stream', bearerProtocol])
    await c.opened
    expect(c.ws.protocol).toBe('agent-stream')
    const sessionId = `ws-session-${process.pid}`
    c.send({ type: 'user_message', sessionId, content: 'write over ws' })
    const prompt = await c.next((f) => f.type === 'command_prompt')
    expect(prompt.commandId).toMatch(new RegExp(`^${sessionId}-cmd-`))
    c.send({ type: 'approve', sessionId, commandId: prompt.commandId, decision: 'allow' })
    await c.next((f) => f.type === 'status' && f.message === 'Agent run completed.')
    const texts = c.frames
      .filter((f) => f.type === 'item' && (f.responseItem as Frame).type === 'message')
      .map((f) => ((f.responseItem as Frame).content as { text: string }[])[0]!.text)
    expect(texts).toEqual(['wrote over ws'])
    const sessions = (await (
      await fetch(`${gw.url}/v1/sessions`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { sessions: Session[] }
    const session = sessions.sessions.find((s) => s.externalId === sessionId)!
    expect(existsSync(path.join(session.cwd, 'over-ws.txt'))).toBe(true)
    c.ws.close()
  })

  it('an Authorization header works on /agent/ws; bad JSON gets a decode error and a close', async () => {
    const c = agentWsClient(wsUrl(), ['agent-stream'], { authorization: `Bearer ${token}` })
    await c.opened
    c.ws.send('{nope')
    const error = await c.next((f) => f.type === 'error')
    expect(error.message).toMatch(/^Frame decoding error: /)
    await new Promise((resolve) => c.ws.once('close', resolve))
  })

  it('the turn\'s end is one write: "Agent idle..." and "Agent run completed." go to the kernel together, one read for the client', async () => {
    mock.script({ kind: 'text', text: 'one read' })
    const c = agentWsClient(wsUrl(), ['agent-stream'], { authorization: `Bearer ${token}` })
    await c.opened
    // What each socket hands the kernel: one call (a write, or a writev of several chunks) is one system call.
    const handed: Buffer[] = []
    const toKernel = vi
      .spyOn(net.Socket.prototype as unknown as SocketInternals, '_writeGeneric')
      .mockImplementation(function (this: SocketInternals, writev, data, encoding, cb) {
        const chunks = (writev ? (data as { chunk: unknown }[]).map((d) => d.chunk) : [data]) as (
          | Buffer
          | string
        )[]
        handed.push(Buffer.concat(chunks.map((x) => (typeof x === 'string' ? Buffer.from(x) : x))))
        return writeGeneric.call(this, writev, data, encoding, cb)
      })
    try {
      c.send({ type: 'user_message', sessionId: `ws-reads-${process.pid}`, content: 'end in one read' })
      await c.next((f) => f.type === 'status' && f.message === 'Agent run completed.')
    } finally {
      toKernel.mockRestore()
    }
    const statuses = c.frames.filter((f) => f.type === 'status').map((f) => f.message)
    expect(statuses.slice(-2)).toEqual(['Agent idle...', 'Agent run completed.'])
    // one message per frame still (two messages), handed to the kernel in one call...
    const sent = handed.find((b) => b.includes('Agent run completed.'))!
    expect(sent.includes('Agent idle...')).toBe(true)
    // ...so the client reads them together (in this one process it would anyway: both writes land before it reads)
    expect(c.reads.find((r) => r.includes('Agent run completed.'))!.includes('Agent idle...')).toBe(true)
    c.ws.close()
    await new Promise((resolve) => c.ws.once('close', resolve))
  })

  it('POST /agent/stream needs the token too', async () => {
    const h2 = h2connect(gw.url)
    try {
      const refused = new AgentStreamClient(h2, 'ndjson')
      refused.end()
      await refused.ended
      expect(refused.status).toBe(401)
      mock.script({ kind: 'text', text: 'with token' })
      const c = new AgentStreamClient(h2, 'ndjson', { authorization: `Bearer ${token}` })
      await c.send({ type: 'user_message', sessionId: `h2-auth-${process.pid}`, content: 'hi' })
      await c.status_('Agent run completed.')
      expect(c.texts()).toEqual(['with token'])
      c.end()
      await c.ended
    } finally {
      h2.close()
    }
  })
})
