import type { FastifyReply } from 'fastify'
import { keepAliveTicks } from './keep-alive-ticks.js'
import { StreamWriter } from './stream-writer.js'

/** One Server-Sent Event. A string `data` is sent as-is (one `data:` line per line), anything else as JSON. */
export interface SseEvent {
  id?: string | number
  event?: string
  data: unknown
}

export interface SseOptions {
  /**
   * A `: keep-alive` comment this often while the stream is open, so proxies keep it; 0 disables. Announced in
   * the `X-Keepalive-Seconds` header, so a client can tell a silent (dead) connection from a quiet stream.
   */
  keepAliveMs?: number
  headers?: Record<string, string>
}

/** The response header announcing the keep-alive interval in seconds (0: none): clients bound their silence by it. */
export const keepAliveHeader = 'x-keepalive-seconds'

/** Streams Server-Sent Events, with a keep-alive comment while the stream is open (one timer for all streams). */
export class SseWriter extends StreamWriter {
  constructor(reply: FastifyReply, onClientGone: () => void, opts: SseOptions = {}) {
    const keepAliveMs = opts.keepAliveMs ?? 15_000
    super(reply, 'text/event-stream; charset=utf-8', onClientGone, {
      [keepAliveHeader]: String(Math.max(0, keepAliveMs) / 1000),
      ...opts.headers,
    })
    if (keepAliveMs > 0)
      this.onClose(keepAliveTicks.add(keepAliveMs, () => void this.send(': keep-alive\n\n')))
  }

  write(event: SseEvent): Promise<void> {
    return this.send(encodeSse(event))
  }

  /** Sends an event already encoded with encodeSse (as text or UTF-8 bytes). */
  writeFrame(frame: string | Uint8Array): Promise<void> {
    return this.send(frame)
  }
}

/** The wire form of one event; line breaks in fields cannot break the framing. */
export function encodeSse({ id, event, data }: SseEvent): string {
  const text = typeof data === 'string' ? data : JSON.stringify(data ?? null)
  let out = sseFields(id, event)
  // JSON text (every stored event) is one line: no split, no regex over tens of KB of agent output.
  if (!text.includes('\n') && !text.includes('\r')) return `${out}data: ${text}\n\n`
  for (const line of text.split(/\r\n|\r|\n/)) out += `data: ${line}\n`
  return `${out}\n`
}

/** The `id:` and `event:` lines of a frame (either may be absent). */
export function sseFields(id: string | number | undefined, event: string | undefined): string {
  let out = ''
  if (id !== undefined) out += `id: ${oneLine(String(id))}\n`
  if (event !== undefined) out += `event: ${oneLine(event)}\n`
  return out
}

const oneLine = (s: string) => s.replace(/[\r\n]/g, ' ')
