import type { ServerResponse } from 'node:http'

/** Aborts with `client_gone` when the client disconnects before its response was completely sent. */
export function clientSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController()
  res.once('close', () => {
    if (!res.writableFinished) controller.abort('client_gone')
  })
  return controller.signal
}
