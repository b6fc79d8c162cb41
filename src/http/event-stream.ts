import type { FastifyReply, FastifyRequest } from 'fastify'
import type { StoredEvent } from '../protocol/events.js'
import { jsonFramed } from '../util/json-once.js'
import type { EventSink } from './event-sink.js'
import { NdjsonWriter } from './ndjson.js'
import { SseWriter, sseFields } from './sse.js'

export type StreamFormat = 'sse' | 'ndjson'

/** The stream format a client asked for with Accept, or null for plain JSON. */
export function acceptedStream(request: FastifyRequest): StreamFormat | null {
  const accept = request.headers.accept ?? ''
  if (accept.includes('text/event-stream')) return 'sse'
  if (accept.includes('application/x-ndjson')) return 'ndjson'
  return null
}

/**
 * Encodes stored events to the client: SSE with `id:` = seq and `event:` = type, or NDJSON lines.
 * Detaches (aborts `detach`) when the client leaves; the run itself goes on unless the caller decides otherwise.
 */
export async function sendEventStream(
  reply: FastifyReply,
  format: StreamFormat,
  events: (signal: AbortSignal) => AsyncIterable<StoredEvent>,
  opts: { keepAliveMs: number; headers?: Record<string, string>; onClientGone?: () => void },
): Promise<void> {
  const detach = new AbortController()
  const gone = () => {
    detach.abort('client_gone')
    opts.onClientGone?.()
  }
  const headers = opts.headers ?? {}
  const sink = storedEventSink(reply, format, gone, headers, opts.keepAliveMs)
  const metrics = reply.server.gatewayMetrics
  metrics?.streamOpened(format)
  try {
    for await (const ev of events(detach.signal)) {
      await sink.write(ev)
      metrics?.relayed(format)
    }
  } finally {
    sink.end()
    metrics?.streamClosed(format)
  }
}

/** Stored events onto a hijacked reply, as SSE frames or NDJSON lines. */
function storedEventSink(
  reply: FastifyReply,
  format: StreamFormat,
  gone: () => void,
  headers: Record<string, string>,
  keepAliveMs: number,
): EventSink<StoredEvent> {
  let write: (ev: StoredEvent) => Promise<void>
  let out: SseWriter | NdjsonWriter
  if (format === 'sse') {
    const sse = new SseWriter(reply, gone, { keepAliveMs, headers })
    write = (ev) => sse.writeFrame(sseFrame(ev))
    out = sse
  } else {
    const ndjson = new NdjsonWriter(reply, gone, headers)
    write = (ev) => ndjson.writeLine(ndjsonLine(ev))
    out = ndjson
  }
  return {
    write,
    end: () => out.end(),
    get closed() {
      return out.closed
    },
  }
}

// A live event is the same object for every subscriber: its wire form is built once, not once per stream, and
// as UTF-8 bytes, so neither the chunked encoding (the chunk's byte length) nor the socket (the encoding) goes
// over tens of KB of agent output again for each subscriber.
const sseFrames = new WeakMap<StoredEvent, Buffer>()
const ndjsonLines = new WeakMap<StoredEvent, Buffer>()

/** `id`, `event`, then the event's JSON bytes (the store's, when it stored them) as its one `data:` line. */
export function sseFrame(ev: StoredEvent): Buffer {
  let frame = sseFrames.get(ev)
  if (frame === undefined) {
    // compact JSON (JSON.stringify's, or the store's text of it) escapes every line break: one data line
    frame = jsonFramed(ev, `${sseFields(ev.seq, ev.type)}data: `, 2)
    sseFrames.set(ev, frame)
  }
  return frame
}

export function ndjsonLine(ev: StoredEvent): Buffer {
  let line = ndjsonLines.get(ev)
  if (line === undefined) {
    line = jsonFramed(ev, '', 1)
    ndjsonLines.set(ev, line)
  }
  return line
}
