import type { StoredEvent } from '../../../src/protocol/events.js'
import { readSseUntil } from '../sse-client.js'

/** A request that took too long: the stress reports it as a hang instead of waiting forever. */
export class Hang extends Error {}

/** One answer of the gateway: its status and parsed JSON body (null when the body was not JSON). */
export interface Answer<T = unknown> {
  status: number
  body: T
}

/** `fetch` with a bound: a request unanswered after `timeoutMs` rejects with Hang. */
export async function call<T = unknown>(
  url: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
  timeoutMs = 60_000,
): Promise<Answer<T>> {
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    const res = await fetch(url, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal,
    })
    const text = await res.text()
    let body: unknown = null
    try {
      body = JSON.parse(text)
    } catch {}
    return { status: res.status, body: body as T }
  } catch (err) {
    if (signal.aborted) throw new Hang(`${init.method ?? 'GET'} ${url}: no answer in ${timeoutMs} ms`)
    throw err
  }
}

/**
 * A session's events over SSE from `lastEventId` (Last-Event-ID header) up to seq `through`; rejects with Hang when
 * they did not all come within `timeoutMs`. The stream stays open after them: it is cancelled.
 */
export async function sseEvents(
  baseUrl: string,
  sessionId: string,
  lastEventId: number,
  through: number,
  timeoutMs = 30_000,
): Promise<StoredEvent[]> {
  if (through <= lastEventId) return []
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), timeoutMs)
  const events: StoredEvent[] = []
  try {
    const res = await fetch(`${baseUrl}/v1/sessions/${sessionId}/events`, {
      headers: { accept: 'text/event-stream', 'last-event-id': String(lastEventId) },
      signal: controller.signal,
    })
    if (res.status !== 200) throw new Error(`GET events of ${sessionId}: status ${res.status}`)
    await readSseUntil(res, (frame) => {
      const ev = JSON.parse(frame.data) as StoredEvent
      events.push(ev)
      if (frame.id !== String(ev.seq)) throw new Error(`SSE id ${frame.id} is not the event's seq ${ev.seq}`)
      return ev.seq >= through
    })
  } catch (err) {
    if (controller.signal.aborted)
      throw new Hang(
        `events of ${sessionId} after ${lastEventId}: ${events.length} of ${through - lastEventId} came`,
      )
    throw err
  } finally {
    clearTimeout(timer)
    controller.abort()
  }
  return events
}
