import type { ServerResponse } from 'node:http'
import type { SseEvent } from './formats/index.js'

export function encodeSseEvent({ event, data }: SseEvent): string {
  const head = event ? `event: ${event}\n` : ''
  return `${head}data: ${JSON.stringify(data)}\n\n`
}

export function writeSseHead(res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  })
}

/** Write one event; resolves once it is handed to the socket, rejects if `signal` aborts first. */
export function writeSseEvent(res: ServerResponse, event: SseEvent, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    res.write(encodeSseEvent(event), (error) => {
      signal.removeEventListener('abort', onAbort)
      if (error) reject(error)
      else resolve()
    })
  })
}
