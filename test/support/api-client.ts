import type { StoredEvent } from '../../src/protocol/events.js'
import { readSseUntil } from './sse-client.js'

/** A /v1 client bound to one bearer token (or none), for tests about tokens, scopes and tenants. */
export function apiClient(baseUrl: string, token?: string) {
  const headers = (extra: Record<string, string> = {}) => ({
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...extra,
  })
  const client = {
    get: (path: string, extra: Record<string, string> = {}) =>
      fetch(`${baseUrl}${path}`, { headers: headers(extra) }),
    post: (path: string, body: unknown = {}) =>
      fetch(`${baseUrl}${path}`, {
        method: 'POST',
        headers: headers({ 'content-type': 'application/json' }),
        body: JSON.stringify(body),
      }),
    async json<T>(res: Response | Promise<Response>, status?: number): Promise<T> {
      const r = await res
      const text = await r.text()
      if (status !== undefined && r.status !== status)
        throw new Error(`expected ${status}, got ${r.status}: ${text}`)
      return JSON.parse(text) as T
    },
    /** Follows an event stream (SSE) until `stop` matches; returns the events seen. */
    async until(path: string, stop: (ev: StoredEvent) => boolean): Promise<StoredEvent[]> {
      const res = await client.get(path, { accept: 'text/event-stream' })
      if (res.status !== 200) throw new Error(`stream ${path}: ${res.status} ${await res.text()}`)
      const frames = await readSseUntil(res, (f) => stop(JSON.parse(f.data) as StoredEvent))
      return frames.map((f) => JSON.parse(f.data) as StoredEvent)
    },
  }
  return client
}
