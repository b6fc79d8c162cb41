import { EventSourceParserStream } from 'eventsource-parser/stream'

/** An answer other than 2xx, with its body: the gateway's JSON (`{error: {code, message}}` on /v1), else its text. */
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

/**
 * Whether a stream that failed with `err` is followed again: a dropped connection, or a gateway (or the proxy in
 * front of it) not answering for now (502, 503, 504: restarting, its store down); other HTTP errors are final.
 */
export function reconnectable(err: unknown): boolean {
  return !(err instanceof ApiError) || err.status === 502 || err.status === 503 || err.status === 504
}

/** One Server-Sent Event as the parser gives it. */
export interface SseFrame {
  id?: string
  event?: string
  data: string
}

export interface SseConnectOptions {
  headers: Record<string, string>
  signal?: AbortSignal
  fetch?: typeof fetch
  /** Told when the server accepted the connection (2xx), before any frame. */
  onOpen?: () => void
}

/**
 * One SSE connection through fetch (so a token travels in a header, never in the URL): its frames until the
 * server ends the stream. An answer other than 2xx is thrown as ApiError.
 */
export async function* sseFrames(url: string, opts: SseConnectOptions): AsyncGenerator<SseFrame> {
  const res = await (opts.fetch ?? fetch)(url, {
    headers: { accept: 'text/event-stream', ...opts.headers },
    ...(opts.signal ? { signal: opts.signal } : {}),
  })
  if (!res.ok) throw new ApiError(res.status, await errorBody(res))
  if (!res.body) throw new Error('the event stream has no body')
  opts.onOpen?.()
  const frames = res.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream())
  yield* frames as unknown as AsyncIterable<SseFrame>
}

/** An error answer's body as openapi-fetch gives it: parsed JSON, else its text (a proxy's page), null if unreadable. */
async function errorBody(res: Response): Promise<unknown> {
  const text = await res.text().catch(() => null)
  if (!text) return null
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

/** Waits `ms`, or rejects when `signal` aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
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
