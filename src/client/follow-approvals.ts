import type { Approval } from '../protocol/sessions.js'
import { delay, reconnectable, sseFrames } from './sse-connection.js'

export interface FollowApprovalsOptions {
  /** The stream's URL (`/v1/approvals/events`). */
  url: string
  signal?: AbortSignal
  /** Wait this long before reconnecting after the connection dropped (default 1000 ms). */
  retryMs?: number
  authorization?: () => string | undefined
  fetch?: typeof fetch
  onReconnect?: (error: unknown) => void
}

/**
 * Every pending approval across sessions, as a new list each time one is requested or answered; reconnects
 * when the connection drops (each connection starts with the whole list, so nothing is missed). Ends when
 * `signal` aborts; 502, 503 and 504 are retried, other HTTP errors (401, 403) are thrown as ApiError. A connection
 * silent for longer than the server's keep-alive allows is taken for dead and reconnected (see sseFrames).
 */
export async function* followPendingApprovals(opts: FollowApprovalsOptions): AsyncGenerator<Approval[]> {
  let silenceLimitMs = 0
  for (;;) {
    try {
      const authorization = opts.authorization?.()
      const frames = sseFrames(opts.url, {
        headers: authorization ? { authorization } : {},
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.fetch ? { fetch: opts.fetch } : {}),
        answerTimeoutMs: silenceLimitMs,
        onOpen: (limit) => {
          silenceLimitMs = limit
        },
      })
      for await (const frame of frames)
        if (frame.event === 'approvals') yield (JSON.parse(frame.data) as { approvals: Approval[] }).approvals
    } catch (err) {
      if (!reconnectable(err) || opts.signal?.aborted) throw err
      opts.onReconnect?.(err)
    }
    await delay(opts.retryMs ?? 1000, opts.signal)
  }
}
