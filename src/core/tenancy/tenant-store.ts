import type { Run } from '../../protocol/runs.js'
import type { Session } from '../../protocol/sessions.js'
import type { Store } from '../../store/store.js'

/**
 * One tenant's view of the store (null: the untenanted resources): what it creates carries the tenant, and what
 * it reads is only the tenant's own, so another tenant's id is simply not there (404 on every surface). Runs and
 * sessions carry the tenant themselves; turns and approvals belong to it through their session. Everything
 * else (events by owner, nodes, the webhook outbox, recovery) passes through unchanged.
 */
export function tenantStore(store: Store, tenant: string | null): Store {
  const mine = <T extends { tenant?: string | null | undefined }>(doc: T | undefined): T | undefined =>
    doc && (doc.tenant ?? null) === tenant ? doc : undefined
  // Untenanted resources stay as they always were: no `tenant` field at all.
  const stamp = <T extends Run | Session>(doc: T): T => (tenant === null ? doc : { ...doc, tenant })
  const sessionIsMine = async (id: string) => mine(await store.getSession(id)) !== undefined
  const overrides: Partial<Store> = {
    createRun: (run) => store.createRun(stamp(run)),
    admitRun: (run, owner, max) => store.admitRun(stamp(run), owner, max),
    getRun: async (id) => mine(await store.getRun(id)),
    listRuns: (filter) => store.listRuns({ ...filter, tenant }),
    createSession: (session, owner) => store.createSession(stamp(session), owner),
    getSession: async (id) => mine(await store.getSession(id)),
    findSessionByAgentId: async (id) => mine(await store.findSessionByAgentId(id)),
    findSessionByExternalId: async (id) => mine(await store.findSessionByExternalId(id)),
    listSessions: (filter) => store.listSessions({ ...filter, tenant }),
    countSessions: () => store.countSessions(tenant),
    getTurn: async (id) => {
      const turn = await store.getTurn(id)
      return turn && (await sessionIsMine(turn.sessionId)) ? turn : undefined
    },
    getApproval: async (id) => {
      const approval = await store.getApproval(id)
      return approval && (await sessionIsMine(approval.sessionId)) ? approval : undefined
    },
    listApprovals: (filter) => store.listApprovals({ ...filter, tenant }),
  }
  // each method bound once, not on every call (again when the store's method was replaced, e.g. by a spy)
  const bound = new WeakMap<object, unknown>()
  return new Proxy(store, {
    get(target, prop) {
      if (Object.hasOwn(overrides, prop)) return overrides[prop as keyof Store]
      const value = Reflect.get(target, prop)
      if (typeof value !== 'function') return value
      let method = bound.get(value)
      if (method === undefined) {
        method = value.bind(target)
        bound.set(value, method)
      }
      return method
    },
  })
}
