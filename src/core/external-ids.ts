import { AppError, externalIdTakenMessage } from '../protocol/errors.js'
import type { Store } from '../store/store.js'
import type { TenantScope } from './tenancy/tenancy.js'

/**
 * Answers 409 unless no session has `externalId`. Client-chosen session ids are unique across the server (the
 * stores' unique index), as on seed 004's /agent/stream: a session of the caller's own scope is named (details
 * `sessionId`: the client may continue it), one of another tenant is not. `store` is the whole store, not a
 * tenant's view.
 */
export async function externalIdFree(store: Store, scope: TenantScope, externalId: string): Promise<void> {
  const own = await scope.sessions.byExternalId(externalId)
  if (own)
    throw new AppError('conflict', externalIdTakenMessage(externalId, own.id), {
      externalId,
      sessionId: own.id,
    })
  if (await store.findSessionByExternalId(externalId))
    throw new AppError('conflict', externalIdTakenMessage(externalId), { externalId })
}
