import { z } from 'zod'

/**
 * The events a webhook can subscribe to: what a remote system waits for. A session turn ends with `turn.completed`
 * or `turn.failed` (each the stored event: its turnId, and the failure's `error`), so its outcome needs no fetch.
 */
export const webhookEvent = z.enum([
  'run.completed',
  'approval.requested',
  'approval.resolved',
  'turn.completed',
  'turn.failed',
  'session.idle',
])
export type WebhookEvent = z.infer<typeof webhookEvent>

/** `webhook` on a run or a session: where to POST its events (all of them unless `events` names some). */
export const webhookSpec = z.object({
  url: z.url({ protocol: /^https?$/ }),
  events: z
    .array(webhookEvent)
    .min(1)
    .optional()
    .describe(
      'The events to send, all of them when absent. Each delivery\'s body is `{type, timestamp, data}`, `data` the stored event: a session turn ends with `turn.completed` or `turn.failed` (its `turnId`, and the failure\'s `error`), then `session.idle`; a run with `run.completed`. docs/OPERATIONS.md "Webhooks".',
    ),
})
export type WebhookSpec = z.infer<typeof webhookSpec>

/** One delivery in the durable outbox; `id` is the `webhook-id` every attempt of it carries. */
export interface WebhookDelivery {
  id: string
  url: string
  event: WebhookEvent
  /** The exact JSON body, signed as sent. */
  body: string
  /**
   * The tenant whose key signs it (a tenant's run's or session's own `webhook`: core/ops/webhook-keys.ts); absent,
   * the server's key (WEBHOOK_URLS, untenanted resources, and deliveries stored before tenants had keys).
   */
  tenant?: string
  state: 'pending' | 'delivered' | 'failed'
  attempts: number
  nextAttemptAt: string
  lastError: string | null
  createdAt: string
  deliveredAt: string | null
}
