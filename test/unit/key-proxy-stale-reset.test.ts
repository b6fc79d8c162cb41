import { once } from 'node:events'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { KeyProxy } from '../../src/process/key-proxy/key-proxy.js'

/**
 * An upstream that resets the pooled connection a call was sent on, unread, later than the proxy's window for
 * the idle-close race (upstream-leg.ts `staleWindowMs`, 1 s): what a busy upstream does whose idle-connection
 * timer fires before it reads what came meanwhile (its close discards the unread request with a reset), or a
 * middlebox that dropped an idle connection. The call goes again on a new connection; the agent sees an answer,
 * not a reset (it was the flake of the key proxy's tests under load: ECONNRESET on a model call).
 */
const lateMs = 1500

/** Calls each connection read whole, by connection in the order they came. */
const readOn: number[] = []
let upstream: net.Server
let proxy: KeyProxy

beforeAll(async () => {
  upstream = net.createServer((socket) => {
    const connection = readOn.push(0) - 1
    let text = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      text += chunk
      // each call is `Content-Length: 2` ({}): a head and two bytes
      const end = text.indexOf('\r\n\r\n')
      if (end < 0 || text.length < end + 6) return
      text = text.slice(end + 6)
      readOn[connection]! += 1
      const body = `{"c":${connection}}`
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
      if (connection > 0) return
      // the first connection reads nothing more: it is reset late, with what came meanwhile unread (a close with
      // unread bytes is a reset; Node would read them into its buffer first, so the reset is sent as such)
      socket.pause()
      setTimeout(() => socket.resetAndDestroy(), lateMs)
    })
    socket.on('error', () => {})
  })
  upstream.listen(0, '127.0.0.1')
  await once(upstream, 'listening')
  const port = (upstream.address() as AddressInfo).port
  proxy = await KeyProxy.start([
    { provider: 'openai', url: `http://127.0.0.1:${port}/v1`, key: 'k-0123456789' },
  ])
})
afterAll(async () => {
  await proxy?.close()
  await new Promise((r) => upstream?.close(r))
})

/** A call on an agent connection of its own, ended after its answer (its upstream connection goes to the pool). */
function call(token: string): Promise<{ status: number | undefined; body: string }> {
  const agent = new http.Agent({ keepAlive: true })
  return new Promise((resolve, reject) => {
    const req = http.request(`${proxy.url('openai')}/responses`, {
      method: 'POST',
      agent,
      headers: { authorization: `Bearer ${token}`, 'content-length': 2 },
    })
    req.on('response', (res) => {
      let body = ''
      res.setEncoding('latin1')
      res.on('data', (c: string) => {
        body += c
      })
      res.on('end', () => {
        agent.destroy()
        resolve({ status: res.statusCode, body })
      })
    })
    req.on('error', (err) => {
      agent.destroy()
      reject(err)
    })
    req.end('{}')
  })
}

it('sends a call again on a new connection when the pooled one it was sent on is reset before any answer, however late', async () => {
  const token = proxy.mint('openai')
  expect(await call(token)).toEqual({ status: 200, body: '{"c":0}' })
  // on the pooled connection, which the upstream resets unread: then on a new one
  expect(await call(token)).toEqual({ status: 200, body: '{"c":1}' })
  expect(readOn).toEqual([1, 1])
})
