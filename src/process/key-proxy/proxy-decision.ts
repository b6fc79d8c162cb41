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
