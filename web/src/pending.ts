import { signal } from '@preact/signals'
import { useEffect } from 'preact/hooks'
import type { Schemas } from '../../src/client/index.js'
import { client, needsToken } from './api.js'

export type Approval = Schemas['Approval']

/** Pending approvals across all sessions, for the inbox and the count in the navigation. */
export const pendingApprovals = signal<Approval[]>([])

/** Refreshes now (after an answer) and keeps refreshing every two seconds while the page is visible. */
export async function refreshPending(): Promise<void> {
  if (needsToken.value) return
  const { data, response } = await client.api.GET('/v1/approvals', {
    params: { query: { state: 'pending' } },
  })
  if (response.status === 401) needsToken.value = true
  if (data) pendingApprovals.value = data.approvals
}

export function usePendingApprovals(): void {
  useEffect(() => {
    const tick = () => {
      if (document.visibilityState === 'visible') refreshPending().catch(() => {})
    }
    tick()
    const timer = setInterval(tick, 2000)
    document.addEventListener('visibilitychange', tick)
    return () => {
      clearInterval(timer)
      document.removeEventListener('visibilitychange', tick)
    }
  }, [needsToken.value])
}
