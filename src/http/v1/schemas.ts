import { z } from 'zod'
import { AppError, v1ErrorBody } from '../../protocol/errors.js'
import { limits } from '../../protocol/limits.js'
import { run, runRequestFields } from '../../protocol/runs.js'
import { session } from '../../protocol/sessions.js'
import { webhookSpec } from '../../protocol/webhooks.js'
import { strictBody, strictQuery } from './strict-fields.js'

/** Request and response shapes of the /v1 API (the OpenAPI document is generated from these). */
export const v1Error = v1ErrorBody

/** `limits` and `webhook` as a request body takes them: unknown fields refused. */
export const strictRequestLimits = strictBody(limits.shape)
export const strictRequestWebhook = strictBody(webhookSpec.shape)

const requestFields = runRequestFields.shape

/** POST /v1/runs: the run's request (unknown fields refused, nested objects' included) plus two of the call's own. */
export const createRunBody = strictBody(
  {
    ...requestFields,
    command: strictBody(requestFields.command.unwrap().shape).optional(),
    webhook: strictRequestWebhook.optional(),
    limits: strictRequestLimits.optional(),
    /** Agent id from GET /v1/agents (default AI_PROVIDER). */
    agent: z.string().optional(),
    /** When streaming: cancel the run if this client disconnects (default false: the run goes on). */
    cancelOnDisconnect: z.boolean().default(false),
  },
  { input: 'prompt' },
)

export const idParams = z.object({ id: z.string().min(1) })

/** Query of the list routes: filters plus a cursor (the last id of the previous page). */
export function listQuery<S extends z.ZodType>(status: S) {
  return strictQuery({
    status: status.optional(),
    agent: z.string().optional(),
    cursor: z.string().optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
  })
}

export const runList = z.object({ runs: z.array(run), nextCursor: z.string().nullable() })

export const sessionList = z.object({ sessions: z.array(session), nextCursor: z.string().nullable() })

export const eventsQuery = strictQuery({
  /** Replay events with seq greater than this (same as the Last-Event-ID header). */
  after: z.coerce.number().int().min(0).optional(),
})

export const lastEventIdHeaders = z.object({ 'last-event-id': z.string().optional() })

/**
 * The Idempotency-Key of POST /v1/runs, POST /v1/sessions and POST /v1/sessions/:id/turns: 1 to 255 printable ASCII
 * characters (a UUID, say).
 */
export const idempotencyKeyHeaders = z.object({
  'idempotency-key': z
    .string()
    .regex(/^[\x20-\x7e]{1,255}$/, 'Idempotency-Key must be 1 to 255 printable ASCII characters')
    .optional()
    .describe(
      "Makes the request safe to retry: the same key with the same body (per tenant, for IDEMPOTENCY_KEY_TTL seconds, 24 hours by default) answers the run, session or turn it first made (200, Idempotent-Replayed: true) instead of making another; with another body (or on another route or session: a key is the tenant's, across POST /v1/runs, POST /v1/sessions and every session's POST /v1/sessions/{id}/turns), 409 conflict (`idempotency_key_reused`); while the first request is still being answered, 409 conflict (`idempotency_key_in_use`) with Retry-After. Another tenant's same key is another key.",
    ),
})

/** Last-Event-ID wins over ?after=; it must be a non-negative integer (an SSE id we sent). */
export function resolveEventCursor(lastEventId: string | undefined, after: number | undefined): number {
  if (lastEventId === undefined) return after ?? 0
  if (!/^\d+$/.test(lastEventId.trim()))
    throw new AppError(
      'invalid_request',
      `Last-Event-ID must be an event seq (a non-negative integer), got "${lastEventId}"`,
    )
  return Number(lastEventId.trim())
}

export const booleanQuery = z
  .enum(['true', 'false', '1', '0'])
  .optional()
  .transform((v) => v === 'true' || v === '1')

export const errorResponses = { 400: v1Error, 404: v1Error, 409: v1Error, 429: v1Error, 503: v1Error }

/**
 * Lists one page newest first: asks for one row more than `limit` to know whether a next page exists.
 * Ids sort by creation time, so the cursor is the last id of the page.
 */
export async function listPage<T extends { id: string }>(
  query: { status?: unknown; agent?: string; cursor?: string; limit: number },
  load: (filter: { limit: number; status?: never; agent?: string; before?: string }) => Promise<T[]>,
): Promise<{ items: T[]; nextCursor: string | null }> {
  const { status, agent, cursor, limit } = query
  const found = await load({
    limit: limit + 1,
    ...(status ? { status: status as never } : {}),
    ...(agent ? { agent } : {}),
    ...(cursor ? { before: cursor } : {}),
  })
  const items = found.slice(0, limit)
  return { items, nextCursor: found.length > limit ? (items.at(-1)?.id ?? null) : null }
}
