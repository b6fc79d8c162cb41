import { createHmac } from 'node:crypto'

/**
 * The key that signs a delivery: the server's (WEBHOOK_SECRET's) for WEBHOOK_URLS and for the untenanted runs' and
 * sessions' own webhooks, as always; for a tenant's own webhook, that tenant's key, derived from the server's:
 * HMAC-SHA256(server key, "agent-gateway webhook key\0<tenant>"). A tenant is given its own (GET
 * /v1/webhook-secret) and never the server's, so a delivery signed for one tenant does not verify at another's
 * receiver, nor at the operator's. Derived, not stored: nothing to provision per tenant; rotating WEBHOOK_SECRET
 * rotates every tenant's key with it.
 */
export function webhookKeyOf(serverKey: Buffer, tenant: string | null): Buffer {
  if (tenant === null) return serverKey
  return createHmac('sha256', serverKey).update(`agent-gateway webhook key\0${tenant}`).digest()
}

/** A key as Standard Webhooks libraries take it: `whsec_<base64 key>`. */
export function webhookSecretOf(key: Buffer): string {
  return `whsec_${key.toString('base64')}`
}
