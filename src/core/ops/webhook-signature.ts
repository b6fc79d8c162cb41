import { createHmac } from 'node:crypto'

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): the key is WEBHOOK_SECRET's (see
 * config/webhook-secret.ts), or a tenant's derived from it (webhook-keys.ts); each attempt is signed as `v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")>`.
 */
export function signWebhook(key: Buffer, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')
  return `v1,${mac}`
}

/** The three headers of one attempt. */
export function webhookHeaders(key: Buffer, id: string, body: string, now = Date.now()) {
  const timestamp = Math.floor(now / 1000)
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signWebhook(key, id, timestamp, body),
  }
}
