import type { Run } from '../../protocol/runs.js'
import type { Session } from '../../protocol/sessions.js'
import type { Store } from '../../store/store.js'

/**
 * One tenant's view of the store (null: the untenanted resources): what it creates carries the tenant, and what
 * it reads is only the tenant's own, so another tenant's id is simply not there (404 on every surface). Runs and
 * sessions carry the tenant themselves; turns and approvals belong to it through their session. Everything
 * else (events by owner, nodes, the webhook outbox, recovery) passes through unchanged.
 */
/** The members a tenant sees only its own of: each has its override below. */
const tenantMembers = [
  'createRun',
  'admitRun',
  'holdRequestKey',
  'releaseRequestKey',
  'retakeRequestKey',
  'getRun',
  'listRuns',
  'createSession',
  'getSession',
  'findSessionByAgentId',
  'findSessionByExternalId',
  'listSessions',
  'countSessions',
  'getTurn',
  'getApproval',
  'listApprovals',
] as const
type TenantMember = (typeof tenantMembers)[number]

/**
 * The members passed through: they act by an id the tenant's own reads gave it (a run's or session's events,
 * turns and approvals of its sessions), or on what belongs to no tenant (claims, takeovers and ownership between
 * nodes, the nodes themselves, the webhook outbox, retention, the connection).
 */
const sharedMembers = [
  'kind',
  'claimRun',
  'claimNextRun',
  'updateRun',
  'updateRunWithEvents',
  'appendEvent',
  'appendEvents',
  'inOneTransaction',
  'commitLanes',
  'eventsAfter',
  'takeOverRuns',
  'takeOverRunsMissingEnd',
  'appendRunEnd',
  'ownerOf',
  'ownersInUse',
  'deleteFinishedBefore',
  'claimSession',
  'takeOverSessions',
  'updateSession',
  'setSessionStateWithEvents',
  'sessionState',
  'createTurn',
  'updateTurn',
  'completeTurn',
  'completeTurnWithEvents',
  'createTurnWithEvents',
  'updateTurnWithEvents',
  'listTurns',
  'createApproval',
  'updateApproval',
  'resolveApproval',
  'registerNode',
  'heartbeat',
  'markNodesLost',
  'listNodes',
  'removeNode',
  'enqueueWebhook',
  'updateWebhook',
  'getWebhook',
  'dueWebhooks',
  'nextWebhookAt',
  'ping',
  'storageFull',
  'onSpaceBack',
  'close',
] as const satisfies readonly (keyof Store)[]

// Every Store member is decided: one added to Store and to neither list above does not compile here, so no
// new read passes through to every tenant's data unnoticed.
const undecided: Record<Exclude<keyof Store, TenantMember | (typeof sharedMembers)[number]>, never> = {}
void undecided
const shared: ReadonlySet<PropertyKey> = new Set(sharedMembers)

export function tenantStore(store: Store, tenant: string | null): Store {
  const mine = <T extends { tenant?: string | null | undefined }>(doc: T | undefined): T | undefined =>
    doc && (doc.tenant ?? null) === tenant ? doc : undefined
  // Untenanted resources stay as they always were: no `tenant` field at all.
  const stamp = <T extends Run | Session>(doc: T): T => (tenant === null ? doc : { ...doc, tenant })
  const sessionIsMine = async (id: string) => mine(await store.getSession(id)) !== undefined
  const overrides: Pick<Store, TenantMember> = {
    createRun: (run) => store.createRun(stamp(run)),
    admitRun: (run, owner, max, events) => store.admitRun(stamp(run), owner, max, events),
    // a tenant's keys are its own: another tenant's same key is another key
    holdRequestKey: (_, key, hold, at, keptSince) => store.holdRequestKey(tenant, key, hold, at, keptSince),
    releaseRequestKey: (_, key, resourceId) => store.releaseRequestKey(tenant, key, resourceId),
    retakeRequestKey: (_, key, held, at) => store.retakeRequestKey(tenant, key, held, at),
    getRun: async (id) => mine(await store.getRun(id)),
    listRuns: (filter) => store.listRuns({ ...filter, tenant }),
    createSession: (session, owner, events) => store.createSession(stamp(session), owner, events),
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
      if (Object.hasOwn(overrides, prop)) return overrides[prop as TenantMember]
      // what is neither the tenant's own nor shared (a store's own extras) is not part of the view
      if (!shared.has(prop)) return undefined
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
