import http from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * An HTTP(S) proxy on loopback that refuses every request (403) and records where each was going: an agent given it
 * as HTTPS_PROXY (loopback in NO_PROXY, for the mock model) reaches nothing outside this machine, and a test sees
 * which hosts it tried (`CONNECT api.anthropic.com:443`).
 */
export async function startRefusingProxy() {
  const seen: string[] = []
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`)
    res.writeHead(403).end()
  })
  server.on('connect', (req, socket) => {
    seen.push(`CONNECT ${req.url}`)
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    /** The env that sends an agent's traffic to it, the mock model's (loopback) excepted. */
    env: { HTTPS_PROXY: url, HTTP_PROXY: url, NO_PROXY: '127.0.0.1,localhost' },
    /** `CONNECT host:port` (or `METHOD url`) of each request, in order. */
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
