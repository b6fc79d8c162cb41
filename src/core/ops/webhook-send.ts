import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { LookupFunction } from 'node:net'

/**
 * One POST of a webhook body; resolves with the HTTP status, rejects on a network error, a refused target
 * (from `lookup`) or after `timeoutMs`. The response body is read and dropped.
 */
export function postWebhook(
  url: string,
  body: string,
  headers: Record<string, string>,
  opts: { lookup: LookupFunction; timeoutMs: number; signal: AbortSignal },
): Promise<number> {
  const target = new URL(url)
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'agent-gateway-webhooks',
          ...headers,
        },
        lookup: opts.lookup,
        timeout: opts.timeoutMs,
        signal: opts.signal,
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)))
    req.on('error', reject)
    req.end(body)
  })
}
