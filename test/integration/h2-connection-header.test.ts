import http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { gatewayModules, startGateway, type TestGateway } from '../support/gateway.js'

/**
 * Fastify sets `connection: close` on the answer to a request body that failed (bad JSON, too large), for HTTP/1.1.
 * Node's HTTP/2 compatibility layer drops the header on an h2 answer and prints an UnsupportedWarning ("The provided
 * connection header is not valid...") on the gateway's stderr, once per process. The gateway takes connection-specific
 * headers off HTTP/2 answers. Node warns once per process: this file runs in a fresh one, and its last step makes
 * the warning happen on purpose, which proves it had not been printed before.
 */
const bodyLimit = 10_000

/** POSTs `body` over h2c (Node's client): the answer's status. */
async function post(url: string, body: Buffer | string) {
  const session = http2.connect(url)
  session.on('error', () => {})
  try {
    const stream = session.request({
      ':method': 'POST',
      ':path': '/v1/runs',
      'content-type': 'application/json',
    })
    stream.on('error', () => {})
    stream.resume()
    const headers = new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once('response', resolve))
    const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()))
    stream.end(body)
    const got = await headers
    await closed
    return { status: Number(got[':status']) }
  } finally {
    session.destroy()
  }
}

describe('HTTP/2 answers to a request body that failed', () => {
  let gw: TestGateway
  const warnings: Error[] = []
  const onWarning = (warning: Error) => warnings.push(warning)
  gatewayModules()
  beforeAll(async () => {
    process.on('warning', onWarning)
    gw = await startGateway(null, { BODY_LIMIT_BYTES: String(bodyLimit) })
  })
  afterAll(async () => {
    process.off('warning', onWarning)
    await gw?.close()
  })

  it('make Node print no UnsupportedWarning (a connection header dropped)', async () => {
    const bad = await post(gw.url, '{"prompt": ')
    expect(bad.status).toBe(400)
    // no content-length: found too large while read
    const large = await post(gw.url, Buffer.alloc(2 * bodyLimit, 'a'))
    expect(large.status).toBe(413)
    // a warning is emitted on the next turn: one answered on the same bare server after both comes after theirs
    const control = await warningOfABareServer()
    expect(warnings.filter((w) => w.name === 'UnsupportedWarning').map((w) => w.message)).toEqual([control])
  })
})

/**
 * An HTTP/2 server of Node's own whose answer sets `connection: close`: the warning, when this process had not
 * printed it yet; else 'none'.
 */
async function warningOfABareServer(): Promise<string> {
  let onWarning: (w: Error) => void = () => {}
  const warned = new Promise<string>((resolve) => {
    onWarning = (w) => {
      if (w.name === 'UnsupportedWarning') resolve(w.message)
    }
  })
  process.on('warning', onWarning)
  const server = http2.createServer((_request, response) => {
    response.setHeader('connection', 'close')
    response.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  try {
    const session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    const stream = session.request({ ':path': '/' })
    stream.resume()
    await new Promise<void>((resolve) => stream.once('close', () => resolve()))
    session.destroy()
    // none when this process printed it before (a bound of the test's own time)
    let bound: NodeJS.Timeout | undefined
    return await Promise.race([
      warned,
      new Promise<string>((r) => (bound = setTimeout(() => r('none'), 10_000))),
    ]).finally(() => clearTimeout(bound))
  } finally {
    process.off('warning', onWarning)
    await new Promise((resolve) => server.close(resolve))
  }
}
