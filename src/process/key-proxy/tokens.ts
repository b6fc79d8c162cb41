import { createHash, randomBytes } from 'node:crypto'

/** What every token the key proxy lends starts with (an agent's `agp-...` is never a provider's key). */
const tokenPrefix = 'agp-'

/** A fresh token for one agent process. */
export const newToken = (): string => tokenPrefix + randomBytes(32).toString('base64url')

/** How a token is told to the proxy's thread and looked up there: by its digest, never the token itself. */
export const tokenDigest = (token: string): string => createHash('sha256').update(token).digest('hex')

/**
 * The digests of live tokens presented lately, so a model call's token check skips the hash of its agent's token
 * (a few µs a call). Whether a token is live is still the digest's lookup each time (key-proxy-thread.ts); at most
 * `max` entries, all dropped when full.
 */
export class RecentDigests {
  private readonly digests = new Map<string, string>()

  constructor(private readonly max = 256) {}

  /** `token`'s digest (tokenDigest), from memory if it was remembered. */
  of(token: string): string {
    return this.digests.get(token) ?? tokenDigest(token)
  }

  /** Keeps `token`'s digest for the next calls (the caller found it live). */
  remember(token: string, digest: string): void {
    if (this.digests.size >= this.max) this.digests.clear()
    this.digests.set(token, digest)
  }
}
