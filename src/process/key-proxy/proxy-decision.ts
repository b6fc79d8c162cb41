import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'

/** A request to send upstream: its head rewritten, and the upstream connection it goes on. */
export interface Forward {
  /** Requests with the same pairing may share one upstream connection. */
  pairing: string
  /** The head to send (latin1), blank line included. */
  head: string
  open(): Promise<Socket>
}

/** A request the proxy answers itself, with the body it answers. */
export interface Refusal {
  status: number
  body: { error: { code: string; message: string } }
}

export const refusal = (status: number, code: string, message: string): Refusal => ({
  status,
  body: { error: { code, message } },
})

/** The answer the proxy writes itself (a refusal's JSON body; `close`: the connection ends after it). */
export function answerText(status: number, body: object, close: boolean): string {
  const text = JSON.stringify(body)
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json\r\n` +
    `content-length: ${Buffer.byteLength(text)}\r\n${close ? 'connection: close\r\n' : ''}\r\n${text}`
  )
}
