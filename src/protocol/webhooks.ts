import { z } from 'zod'

/** The events a webhook can subscribe to. */
export const webhookEvent = z.enum([
  'run.completed',
  'approval.requested',
  'approval.resolved',
  'turn.completed',
  'session.idle',
])
export type WebhookEvent = z.infer<typeof webhookEvent>

/** `webhook` on a run or a session: where to POST its events (all of them unless `events` names some). */
export const webhookSpec = z.object({
  url: z.url({ protocol: /^https?$/ }),
  events: z.array(webhookEvent).min(1).optional(),
})
export type WebhookSpec = z.infer<typeof webhookSpec>

/** One delivery in the durable outbox; `id` is the `webhook-id` every attempt of it carries. */
export interface WebhookDelivery {
  id: string
  url: string
  event: WebhookEvent
  /** The exact JSON body, signed as sent. */
  body: string
  state: 'pending' | 'delivered' | 'failed'
  attempts: number
  nextAttemptAt: string
  lastError: string | null
  createdAt: string
  deliveredAt: string | null
}
