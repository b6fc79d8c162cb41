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

/**
 * A live SSE reader of a session's events from `after` (Last-Event-ID), kept open while the stress goes on: what
 * it received is compared with the store's replay at the end.
 */
export class Follower {
  readonly events: StoredEvent[] = []
  /** Why the stream ended before close() (its error, or the server ending it). */
  ended?: string
  private readonly controller = new AbortController()
  private wake = () => {}

  constructor(
    readonly baseUrl: string,
    readonly sessionId: string,
    readonly after: number,
  ) {
    void this.read()
  }

  private async read(): Promise<void> {
    try {
      const res = await fetch(`${this.baseUrl}/v1/sessions/${this.sessionId}/events`, {
        headers: { accept: 'text/event-stream', 'last-event-id': String(this.after) },
        signal: this.controller.signal,
      })
      if (res.status !== 200) throw new Error(`status ${res.status}`)
      await readSseUntil(res, (frame) => {
        const ev = JSON.parse(frame.data) as StoredEvent
        if (frame.id !== String(ev.seq))
          throw new Error(`SSE id ${frame.id} is not the event's seq ${ev.seq}`)
        this.events.push(ev)
        this.wake()
        return false
      })
      if (!this.controller.signal.aborted) this.ended = 'the server ended the stream'
    } catch (err) {
      if (!this.controller.signal.aborted) this.ended = (err as Error).message
    }
    this.wake()
  }

  /** Resolves once it received seq `through`; rejects with Hang after `timeoutMs`, or if the stream ended. */
  async until(through: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while ((this.events.at(-1)?.seq ?? this.after) < through) {
      if (this.ended)
        throw new Error(`stream ended (${this.ended}) at seq ${this.events.at(-1)?.seq ?? this.after}`)
      const left = deadline - Date.now()
      if (left <= 0)
        throw new Hang(`live events stopped at seq ${this.events.at(-1)?.seq ?? this.after} of ${through}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
  }

  close(): void {
    this.controller.abort()
  }
}
