import { EventSourceParserStream } from 'eventsource-parser/stream'
import type { StoredEvent } from '../protocol/events.js'

/** An answer other than 2xx, with the gateway's error body (`{error: {code, message}}` on /v1). */
export class ApiError extends Error {
  override name = 'ApiError'
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    const error = (body as { error?: { message?: string } } | null)?.error
    super(error?.message ?? `HTTP ${status}`)
  }
}

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
}

/**
 * Follows a Server-Sent Events stream of stored events through fetch (so the token travels in a header, never
 * in the URL). When the connection drops it reconnects with `Last-Event-ID` = the last seq seen, so nothing is
 * lost or doubled. It ends when `until` matches, when the server ends the stream without sending anything new
 * (a finished run), or when `signal` aborts. HTTP errors (401, 404, ...) are thrown as ApiError, not retried.
 */
export async function* followEvents(opts: FollowOptions): AsyncGenerator<StoredEvent> {
  let lastSeq = opts.after ?? 0
  const doFetch = opts.fetch ?? fetch
  for (;;) {
    let received = 0
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream' }
      if (lastSeq > 0) headers['last-event-id'] = String(lastSeq)
      const authorization = opts.authorization?.()
      if (authorization) headers.authorization = authorization
      const res = await doFetch(opts.url, { headers, ...(opts.signal ? { signal: opts.signal } : {}) })
      if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null))
      if (!res.body) throw new Error('the event stream has no body')
      const frames = res.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream())
      for await (const frame of frames as unknown as AsyncIterable<{ id?: string; data: string }>) {
        const event = JSON.parse(frame.data) as StoredEvent
        if (event.seq <= lastSeq) continue
        lastSeq = event.seq
        received++
        yield event
        if (opts.until?.(event)) return
      }
      if (received === 0) return
    } catch (err) {
      if (err instanceof ApiError || opts.signal?.aborted) throw err
      opts.onReconnect?.(lastSeq, err)
    }
    await delay(opts.retryMs ?? 1000, opts.signal)
  }
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        reject(signal.reason)
      },
      { once: true },
    )
  })
}
