import { createParser } from 'eventsource-parser'
import { LineDecoder } from './line-decoder.js'

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
  /**
   * Told when the server accepted the connection (2xx), before any frame, with how long the stream may stay
   * silent (see `silenceLimitMs`; 0: unbounded).
   */
  onOpen?: (silenceLimitMs: number) => void
  /** How long to wait for the answer's headers (0 or absent: unbounded); the follower passes its last stream's bound. */
  answerTimeoutMs?: number
}

/** The header in which the gateway announces its keep-alive interval (seconds; 0 or absent: no keep-alive). */
export const keepAliveHeader = 'x-keepalive-seconds'

/** The server's keep-alive interval times this: a stream silent for longer (no event, no comment) is dead. */
export const silenceFactor = 2.5

/**
 * The shortest silence bound taken from a server, the one the gateway's shortest interval (SSE_KEEPALIVE_SECONDS=1)
 * gives: a server or proxy announcing `X-Keepalive-Seconds: 0.1` made every client abort and reconnect each stream
 * that was quiet for 250 ms.
 */
export const minSilenceLimitMs = 2_500

/** The longest: a timer's delay past 2^31-1 ms fires at once (Node and browsers), which made a huge value abort at once. */
export const maxSilenceLimitMs = 2_147_483_647

/**
 * How long a stream whose server announced `keepAliveSeconds` (the header's value) may be silent, within
 * [minSilenceLimitMs, maxSilenceLimitMs]; 0: unbounded (no header, 0, or not a number).
 */
export function silenceLimitMs(keepAliveSeconds: string | null): number {
  const seconds = Number(keepAliveSeconds)
  if (!keepAliveSeconds || !Number.isFinite(seconds) || seconds <= 0) return 0
  return Math.min(maxSilenceLimitMs, Math.max(minSilenceLimitMs, Math.ceil(seconds * 1000 * silenceFactor)))
}

/**
 * A connection that went silent: no byte (no event, no keep-alive comment) for longer than the server's keep-alive
 * allows, or no answer in time. A network that died without a FIN or RST (wifi gone, a NAT mapping dropped) looks
 * like this; the connection is aborted and, being no ApiError, reconnected.
 */
export class SilentStreamError extends Error {
  override name = 'SilentStreamError'
  constructor(readonly silentMs: number) {
    super(`nothing received for ${silentMs} ms: the connection is taken for dead`)
  }
}

/**
 * One SSE connection through fetch (so a token travels in a header, never in the URL): its frames until the
 * server ends the stream. An answer other than 2xx is thrown as ApiError. When the server announces its keep-alive
 * interval (`X-Keepalive-Seconds`), a stream silent for `silenceFactor` times it is aborted with SilentStreamError;
 * the silence is counted only while the caller waits for the next frame (a slow consumer is not a dead network).
 */
export async function* sseFrames(url: string, opts: SseConnectOptions): AsyncGenerator<SseFrame> {
  const abort = new AbortController()
  const onAbort = () => abort.abort(opts.signal?.reason)
  if (opts.signal?.aborted) onAbort()
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  /** Runs `step`, aborting the connection with SilentStreamError if it takes longer than `ms` (0: no bound). */
  const bounded = async <T>(ms: number, step: () => Promise<T>): Promise<T> => {
    const timer = ms > 0 ? setTimeout(() => abort.abort(new SilentStreamError(ms)), ms) : undefined
    try {
      return await step()
    } catch (err) {
      throw abort.signal.reason instanceof SilentStreamError ? abort.signal.reason : err
    } finally {
      clearTimeout(timer)
    }
  }
  try {
    const res = await bounded(opts.answerTimeoutMs ?? 0, () =>
      (opts.fetch ?? fetch)(url, {
        headers: { accept: 'text/event-stream', ...opts.headers },
        signal: abort.signal,
      }),
    )
    if (!res.ok) throw new ApiError(res.status, await errorBody(res))
    if (!res.body) throw new Error('the event stream has no body')
    const limit = silenceLimitMs(res.headers.get(keepAliveHeader))
    opts.onOpen?.(limit)
    const frames: SseFrame[] = []
    const parser = createParser({ onEvent: (frame) => frames.push(frame) })
    const decoder = new LineDecoder()
    const reader = res.body.getReader()
    try {
      for (;;) {
        const { done, value } = await bounded(limit, () => reader.read())
        if (done) break
        const text = decoder.write(value)
        if (text) parser.feed(text)
        while (frames.length > 0) yield frames.shift()!
      }
    } finally {
      reader.releaseLock()
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort)
    // ends the request if the caller stopped early (or the stream went silent); nothing if it ended by itself
    abort.abort()
  }
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
