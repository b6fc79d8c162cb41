import http from 'node:http'

/**
 * How a bench's HTTP requests are sent: `http` is node:http with a keep-alive agent (what a Node backend that
 * calls the gateway would use: one connection, reused); `fetch` is the global fetch (undici), whose own work per
 * request is about 1 ms more on these machines and lands on the same event loop as an in-process gateway.
 */
export type ClientKind = 'http' | 'fetch'

export const clientKinds: readonly ClientKind[] = ['http', 'fetch']

export interface JsonResponse {
  status: number
  body: unknown
}

export interface JsonClient {
  readonly kind: ClientKind
  /** POSTs `body` (a JSON text) and parses the JSON answer. */
  post(url: string, body: string, timeoutMs: number): Promise<JsonResponse>
  /** Ends the kept-alive connections. */
  close(): void
}

export function jsonClient(kind: ClientKind): JsonClient {
  if (kind === 'fetch')
    return {
      kind,
      async post(url, body, timeoutMs) {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        })
        return { status: res.status, body: await res.json() }
      },
      close() {},
    }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  return {
    kind,
    post: (url, body, timeoutMs) =>
      new Promise((resolve, reject) => {
        const req = http.request(
          url,
          {
            agent,
            method: 'POST',
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
            timeout: timeoutMs,
          },
          (res) => {
            let text = ''
            res.setEncoding('utf8')
            res.on('data', (chunk: string) => {
              text += chunk
            })
            res.on('end', () => {
              try {
                resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) })
              } catch (err) {
                reject(err)
              }
            })
            res.on('error', reject)
          },
        )
        req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)))
        req.on('error', reject)
        req.end(body)
      }),
    close: () => agent.destroy(),
  }
}
