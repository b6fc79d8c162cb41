import type { StoredEvent } from '../protocol/events.js'
import { delay, reconnectable, sseFrames } from './sse-connection.js'

export interface FollowOptions {
  /** The event stream's URL (`/v1/runs/{id}/events` or `/v1/sessions/{id}/events`). */
  url: string
  /** Start after this seq (0 = from the first event). */
  after?: number
  /** Stop after the event this returns true for (e.g. `run.completed`). */
  until?: (event: StoredEvent) => boolean
  signal?: AbortSignal
  /** Wait this long before reconnecting after the connection dropped (default 1000 ms). */
  retryMs?: number
  /** The Authorization header value, asked before every connection. */
  authorization?: () => string | undefined
  fetch?: typeof fetch
  /** Told whenever the connection drops and a reconnect is scheduled (for a "reconnecting" indicator). */
  onReconnect?: (lastSeq: number, error: unknown) => void
  /** Told whenever a connection is open (the first, and each reconnect), even if no event comes on it. */
  onConnected?: () => void
}

/**
 * Follows a Server-Sent Events stream of stored events through fetch (so the token travels in a header, never
 * in the URL). When the connection drops it reconnects with `Last-Event-ID` = the last seq seen, so nothing is
 * lost or doubled. It ends when `until` matches, when `signal` aborts, or when the server ended the stream
 * without anything new twice in a row (a finished run followed from past its end). One such end alone is tried
 * again: a gateway stopping ends its streams cleanly too, and a restarted one carries them on. 502, 503 and 504
 * are retried like a dropped connection; other HTTP errors (401, 404, ...) are thrown as ApiError. A connection
 * that went silent for longer than the server's keep-alive allows (sseFrames: a network gone without a FIN) is
 * dropped and resumed the same way; so is a reconnect whose answer does not come within that bound.
 */
export async function* followEvents(opts: FollowOptions): AsyncGenerator<StoredEvent> {
  let lastSeq = opts.after ?? 0
  let emptyEnds = 0
  // the last stream's silence bound: a reconnect's answer is waited for that long (a dead network again)
  let silenceLimitMs = 0
  for (;;) {
    let received = 0
    try {
      const headers: Record<string, string> = {}
      if (lastSeq > 0) headers['last-event-id'] = String(lastSeq)
      const authorization = opts.authorization?.()
      if (authorization) headers.authorization = authorization
      const frames = sseFrames(opts.url, {
        headers,
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.fetch ? { fetch: opts.fetch } : {}),
        answerTimeoutMs: silenceLimitMs,
        onOpen: (limit) => {
          silenceLimitMs = limit
          opts.onConnected?.()
        },
      })
      for await (const frame of frames) {
        const event = JSON.parse(frame.data) as StoredEvent
        if (event.seq <= lastSeq) continue
        lastSeq = event.seq
        received++
        yield event
        if (opts.until?.(event)) return
      }
      emptyEnds = received === 0 ? emptyEnds + 1 : 0
      if (emptyEnds === 2) return
      opts.onReconnect?.(lastSeq, new Error('the server ended the stream'))
    } catch (err) {
      if (!reconnectable(err) || opts.signal?.aborted) throw err
      emptyEnds = 0
      opts.onReconnect?.(lastSeq, err)
    }
    await delay(opts.retryMs ?? 1000, opts.signal)
  }
}
