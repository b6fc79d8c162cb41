import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { GatewayContext } from '../../core/context.js'
import { AppError } from '../../protocol/errors.js'
import { approvalDecision } from '../../protocol/policies.js'
import { approval } from '../../protocol/sessions.js'
import { sendSnapshots } from '../snapshot-stream.js'
import { scopeOf } from '../tenant-scope.js'
import { getRoute, v1Config } from './route-kit.js'
import { errorResponses, idParams } from './schemas.js'
import { strictBody, strictQuery } from './strict-fields.js'

const config = v1Config
/** The inbox stream re-reads the store this often too: approvals raised on other nodes are seen within it. */
const pendingRefreshMs = 10_000
const tags = ['approvals']

/** Remote approvals: what agents asked, and the answers any client may give (the first one wins). */
export function v1ApprovalRoutes(ctx: GatewayContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/v1/approvals',
      {
        config,
        schema: {
          tags,
          summary: 'Approvals, newest first',
          querystring: strictQuery({
            state: approval.shape.state.optional(),
            sessionId: z.string().optional(),
          }),
          response: { 200: z.object({ approvals: z.array(approval) }) },
        },
      },
      async (request) => ({
        approvals: await scopeOf(ctx, request).approvals.list(request.query.state, request.query.sessionId),
      }),
    )

    app.get(
      '/v1/approvals/events',
      { config, schema: { tags, summary: 'Pending approvals across sessions, live (Server-Sent Events)' } },
      async (request, reply) => {
        const { approvals } = scopeOf(ctx, request)
        const pending = async () => ({ approvals: await approvals.list('pending') })
        await sendSnapshots(reply, pending, (wake) => approvals.watch(wake), {
          keepAliveMs: ctx.config.SSE_KEEPALIVE_SECONDS * 1000,
          refreshMs: pendingRefreshMs,
          event: 'approvals',
        })
      },
    )

    getRoute(app, {
      url: '/v1/approvals/:id',
      tags,
      summary: 'One approval',
      item: approval,
      load: async (id, request) => {
        const found = await scopeOf(ctx, request).approvals.get(id)
        if (!found) throw new AppError('not_found', `no approval ${id}`)
        return found
      },
    })

    app.post(
      '/v1/approvals/:id',
      {
        config: { ...config, scope: 'approve' },
        schema: {
          tags,
          summary: 'Answer an approval',
          description: '400 when the request did not offer this decision, 409 when it was already answered.',
          params: idParams,
          body: strictBody({ decision: approvalDecision }),
          response: { 200: approval, ...errorResponses },
        },
      },
      async (request) =>
        scopeOf(ctx, request).approvals.answer(
          request.params.id,
          request.body.decision,
          request.principal.name,
        ),
    )
  }
}
