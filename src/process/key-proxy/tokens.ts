import { createHash, randomBytes } from 'node:crypto'

/** What every token the key proxy lends starts with (an agent's `agp-...` is never a provider's key). */
const tokenPrefix = 'agp-'

/** A fresh token for one agent process. */
export const newToken = (): string => tokenPrefix + randomBytes(32).toString('base64url')

/** How a token is known on the proxy's thread: by its digest, never by the token itself. */
export const tokenDigest = (token: string): string => createHash('sha256').update(token).digest('hex')
