import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders
  body: string
  status: number
  /** When it arrived (Date.now()). */
  at: number
}

/**
 * A webhook receiver on 127.0.0.1 that records every POST and answers with the next scripted status
 * (200 once the script is used up). `waitFor` synchronises on what it has received.
 */
export async function startWebhookReceiver() {
  const received: ReceivedWebhook[] = []
  const statuses: number[] = []
  let waiters: (() => void)[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const status = statuses.shift() ?? 200
      received.push({
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        status,
        at: Date.now(),
      })
      res.writeHead(status).end()
      for (const wake of waiters.splice(0)) wake()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    received,
    /** The statuses the next requests get, in order. */
    respond(...next: number[]) {
      statuses.push(...next)
    },
    async waitFor(check: (all: ReceivedWebhook[]) => boolean, ms = 20_000): Promise<ReceivedWebhook[]> {
      const deadline = Date.now() + ms
      while (!check(received)) {
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`webhook receiver: condition not met; got ${received.length} requests`)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left)
          waiters.push(() => {
            clearTimeout(timer)
            resolve()
          })
        })
      }
      return received
    },
    close: () =>
      new Promise<void>((resolve) => {
        waiters = []
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export type WebhookReceiver = Awaited<ReturnType<typeof startWebhookReceiver>>
