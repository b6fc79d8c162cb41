import createFetchClient, { type Client, type Middleware } from 'openapi-fetch'
import type { StoredEvent } from '../protocol/events.js'
import type { Approval } from '../protocol/sessions.js'
import { type FollowApprovalsOptions, followPendingApprovals } from './follow-approvals.js'
import { type FollowOptions, followEvents } from './follow-events.js'
import type { components, paths } from './generated/schema.js'

export type { StoredEvent } from '../protocol/events.js'
export { type FollowApprovalsOptions, followPendingApprovals } from './follow-approvals.js'
export { type FollowOptions, followEvents } from './follow-events.js'
export type { components, paths } from './generated/schema.js'
export { ApiError, SilentStreamError } from './sse-connection.js'

export interface ClientOptions {
  /** The gateway's origin, e.g. `http://127.0.0.1:8080` ('' in a page the gateway served). */
  baseUrl: string
  /** A bearer token (one of API_TOKENS), or a function asked before every request. */
  token?: string | (() => string | null | undefined)
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch
}

export interface GatewayClient {
  /** Every route of /openapi.json, typed (openapi-fetch): `api.GET('/v1/runs/{id}', {params: {path: {id}}})`. */
  api: Client<paths>
  /** A run's events from `after`, live until `run.completed`; resumes with Last-Event-ID when the connection drops. */
  runEvents(id: string, opts?: Omit<FollowOptions, 'url'>): AsyncGenerator<StoredEvent>
  /** A session's events from `after`, live until it is archived; resumes with Last-Event-ID when the connection drops. */
  sessionEvents(id: string, opts?: Omit<FollowOptions, 'url'>): AsyncGenerator<StoredEvent>
  /** Every pending approval across sessions, again whenever one is requested or answered (live inbox). */
  pendingApprovals(opts?: Omit<FollowApprovalsOptions, 'url'>): AsyncGenerator<Approval[]>
}

export type Schemas = components['schemas']

/** The typed client of the agent-gateway API: plain calls through openapi-fetch, event streams through SSE. */
export function createClient(opts: ClientOptions): GatewayClient {
  const authorization = () => {
    const token = typeof opts.token === 'function' ? opts.token() : opts.token
    return token ? `Bearer ${token}` : undefined
  }
  const api = createFetchClient<paths>({
    baseUrl: opts.baseUrl,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  })
  const auth: Middleware = {
    onRequest({ request }) {
      const value = authorization()
      if (value) request.headers.set('authorization', value)
      return request
    },
  }
  api.use(auth)
  const follow = (path: string, rest: Omit<FollowOptions, 'url'> = {}) =>
    followEvents({
      ...rest,
      url: `${opts.baseUrl}${path}`,
      authorization,
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
    })
  return {
    api,
    runEvents: (id, rest = {}) =>
      follow(`/v1/runs/${encodeURIComponent(id)}/events`, {
        until: (ev) => ev.type === 'run.completed',
        ...rest,
      }),
    sessionEvents: (id, rest = {}) =>
      follow(`/v1/sessions/${encodeURIComponent(id)}/events`, {
        until: (ev) => ev.type === 'session.status' && ev.status === 'archived',
        ...rest,
      }),
    pendingApprovals: (rest = {}) =>
      followPendingApprovals({
        ...rest,
        url: `${opts.baseUrl}/v1/approvals/events`,
        authorization,
        ...(opts.fetch ? { fetch: opts.fetch } : {}),
      }),
  }
}
