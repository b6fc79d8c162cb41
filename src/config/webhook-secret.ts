/** WEBHOOK_SECRET as Standard Webhooks gives it: `whsec_` then the base64 key. Returns the key bytes. */
export function parseWebhookSecret(secret: string): Buffer {
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : ''
  const key = Buffer.from(encoded, 'base64')
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || key.length < 16)
    throw new Error('WEBHOOK_SECRET must be `whsec_` followed by a base64 key of at least 16 bytes')
  return key
}
