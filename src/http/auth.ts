import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { AppError } from '../protocol/errors.js'

/** Paths anyone may call: liveness only, no agent work. */
const open = new Set(['/health'])

/**
 * Bearer-token check on every request when API_TOKENS is set. Tokens are compared as SHA-256 digests
 * with timingSafeEqual (constant time, any length) and are never logged.
 */
export function registerAuth(app: FastifyInstance, tokens: readonly string[]): void {
  if (tokens.length === 0) return
  const digests = tokens.map(digest)
  app.addHook('onRequest', async (request) => {
    if (open.has(request.url.split('?')[0] ?? '')) return
    const header = request.headers.authorization ?? ''
    const match = /^Bearer\s+(.+)$/i.exec(header)
    if (!match)
      throw new AppError('unauthorized', 'missing bearer token: send `Authorization: Bearer <token>`')
    const given = digest(match[1]!.trim())
    let ok = false
    for (const d of digests) ok = timingSafeEqual(d, given) || ok
    if (!ok) throw new AppError('unauthorized', 'invalid bearer token')
  })
}

const digest = (token: string) => createHash('sha256').update(token).digest()
