import type { FastifyReply } from 'fastify'
import { SseWriter } from './sse.js'

export interface SnapshotStreamOptions {
  keepAliveMs: number
  /** Read and send again at least this often, changed or not (what `watch` cannot see). */
  refreshMs: number
  /** The SSE `event:` name of each snapshot. */
  event: string
}

/**
 * A live view as Server-Sent Events: the whole current state (`read()`) at once, then again after every change
 * `watch` reports (changes arriving while a read is under way collapse into one more read) and every `refreshMs`.
 * Ends when the client leaves. A slow client holds at most one snapshot: reads wait for the previous write.
 */
export async function sendSnapshots(
  reply: FastifyReply,
  read: () => Promise<unknown>,
  watch: (wake: () => void) => () => void,
  opts: SnapshotStreamOptions,
): Promise<void> {
  let wake: () => void = () => {}
  let dirty = true
  let gone = false
  const onChange = () => {
    dirty = true
    wake()
  }
  const out = new SseWriter(
    reply,
    () => {
      gone = true
      wake()
    },
    { keepAliveMs: opts.keepAliveMs },
  )
  const unwatch = watch(onChange)
  const refresh = setInterval(onChange, opts.refreshMs)
  refresh.unref()
  try {
    while (!gone && !out.closed) {
      if (!dirty) {
        await new Promise<void>((resolve) => (wake = resolve))
        continue
      }
      dirty = false
      await out.write({ event: opts.event, data: await read() })
    }
  } finally {
    clearInterval(refresh)
    unwatch()
    out.end()
  }
}
