import { signal } from '@preact/signals'
import { useEffect } from 'preact/hooks'
import { ApiError, type Schemas } from '../../src/client/index.js'
import { client, needsToken } from './api.js'

export type Approval = Schemas['Approval']

/** Pending approvals across all sessions, for the inbox and the count in the navigation. */
export const pendingApprovals = signal<Approval[]>([])

/** Whether `pendingApprovals` was read from the gateway yet (before: its empty start, not a list). */
export const pendingRead = signal(false)

const read = (approvals: Approval[]) => {
  pendingApprovals.value = approvals
  pendingRead.value = true
}

/** Reads the list once (right after an answer, before the stream reports it). */
export async function refreshPending(): Promise<void> {
  if (needsToken.value) return
  const { data, response } = await client.api.GET('/v1/approvals', {
    params: { query: { state: 'pending' } },
  })
  if (response.status === 401) needsToken.value = true
  if (data) read(data.approvals)
}

/** Follows GET /v1/approvals/events: the server pushes the list whenever an approval is asked or answered. */
export function usePendingApprovals(): void {
  useEffect(() => {
    if (needsToken.value) return
    const abort = new AbortController()
    ;(async () => {
      try {
        for await (const approvals of client.pendingApprovals({ signal: abort.signal })) read(approvals)
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) needsToken.value = true
      }
    })()
    return () => abort.abort()
  }, [needsToken.value])
}
