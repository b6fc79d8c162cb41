import type { FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { z } from 'zod'
import type { StoredEvent } from '../../protocol/events.js'
import { acceptedStream, sendEventStream } from '../event-stream.js'
import {
  errorResponses,
  eventsQuery,
  idParams,
  lastEventIdHeaders,
  listPage,
  listQuery,
  resolveEventCursor,
} from './schemas.js'

/**
 * The routes every /v1 resource has in the same shape: a paged list, one item by id, and a replayable event
 * stream. One resource = one call each, instead of a copied route. Each loader gets the request, so it can
 * scope what it reads (the tenant, scopeOf).
 */
type App = Parameters<FastifyPluginAsyncZod>[0]

export const v1Config = { errorShape: 'v1' as const }

/** Where a route is and how OpenAPI lists it. */
interface RouteDoc {
  url: string
  tags: string[]
  summary: string
}

/** GET <url>: one page newest first, filtered by status and agent, with a cursor to the next page. */
export function listRoute<T extends { id: string }, K extends string>(
  app: App,
  route: RouteDoc & {
    /** The key of the page's items in the body (`runs`, `sessions`). */
    key: K
    /** The page's schema, `{ [key]: item[], nextCursor }` (named, so OpenAPI lists it once). */
    page: z.ZodType
    status: z.ZodType
    load: (
      filter: { limit: number; status?: never; agent?: string; before?: string },
      request: FastifyRequest,
    ) => Promise<T[]>
  },
): void {
  const { url, tags, summary } = route
  const page = route.page
  const schema = { tags, summary, querystring: listQuery(route.status) }
  app.get(
    url,
    { config: v1Config, schema: { ...schema, response: { 200: page, 400: errorResponses[400] } } },
    async (request) => {
      const { items, nextCursor } = await listPage(request.query, (filter) => route.load(filter, request))
      return { [route.key]: items, nextCursor }
    },
  )
}

/** GET <url> with an `:id`: the item, or 404. */
export function getRoute(
  app: App,
  route: RouteDoc & { item: z.ZodType; load: (id: string, request: FastifyRequest) => Promise<unknown> },
): void {
  const { url, tags, summary } = route
  const response = { 200: route.item, 404: errorResponses[404] }
  app.get(url, { config: v1Config, schema: { tags, summary, params: idParams, response } }, async (request) =>
    route.load(request.params.id, request),
  )
}

/** GET <url>/:id/events: SSE (default) or NDJSON, replayed from Last-Event-ID or ?after=, then live. */
export function eventsRoute(
  app: App,
  route: RouteDoc & {
    keepAliveMs: number
    /** Throws not_found for an unknown id. */
    mustExist: (id: string, request: FastifyRequest) => Promise<unknown>
    events: (
      id: string,
      after: number,
      signal: AbortSignal,
      request: FastifyRequest,
    ) => AsyncIterable<StoredEvent>
  },
): void {
  const { url, tags, summary } = route
  const request = { params: idParams, querystring: eventsQuery, headers: lastEventIdHeaders }
  const response = { 400: errorResponses[400], 404: errorResponses[404] }
  app.get(
    url,
    { config: v1Config, schema: { tags, summary, ...request, response } },
    async (request, reply) => {
      const { id } = request.params
      await route.mustExist(id, request)
      const after = resolveEventCursor(request.headers['last-event-id'], request.query.after)
      const format = acceptedStream(request) ?? 'sse'
      await sendEventStream(reply, format, (signal) => route.events(id, after, signal, request), {
        keepAliveMs: route.keepAliveMs,
      })
      return reply
    },
  )
}

/** POST <url> with an `:id` and no body (cancel, interrupt, fork, archive): `act`'s result, with `status`. */
export function actionRoute(
  app: App,
  route: RouteDoc & {
    item: z.ZodType
    /** 200 (default), or 201 when the action creates a resource. */
    status?: 200 | 201
    act: (id: string, request: FastifyRequest) => Promise<unknown>
  },
): void {
  const { url, tags, summary } = route
  const status = route.status ?? 200
  const response: Record<number, z.ZodType> = { [status]: route.item, ...errorResponses }
  app.post(
    url,
    { config: v1Config, schema: { tags, summary, params: idParams, response } },
    async (request, reply) => reply.status(status).send(await route.act(request.params.id, request)),
  )
}
