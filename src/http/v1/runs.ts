import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { GatewayContext } from '../../core/context.js'
import { requestDigest } from '../../core/request-keys.js'
import { run } from '../../protocol/runs.js'
import { acceptedStream, sendEventStream } from '../event-stream.js'
import { bindLog } from '../request-log.js'
import { scopeOf } from '../tenant-scope.js'
import { eventsRoute, getRoute, listRoute, v1Config } from './route-kit.js'
import {
  booleanQuery,
  createRunBody,
  errorResponses,
  idempotencyKeyHeaders,
  idParams,
  runList,
} from './schemas.js'
import { strictQuery } from './strict-fields.js'

const config = v1Config
const tags = ['runs']

/** The native run API: durable one-shot runs with replayable event streams. */
export function v1RunRoutes(ctx: GatewayContext): FastifyPluginAsyncZod {
  const keepAliveMs = ctx.config.SSE_KEEPALIVE_SECONDS * 1000
  return async (app) => {
    app.post(
      '/v1/runs',
      {
        config,
        schema: {
          tags,
          summary: 'Start a one-shot run',
          description:
            'Answers 202 with the run; streams its events when Accept is text/event-stream or application/x-ndjson; with ?wait=true answers 200 with the finished run. With an Idempotency-Key, a retry with the same key and body answers the run the first request made (200 and Idempotent-Replayed: true instead of 202; streamed or waited for as asked) and makes none; the same key with another body is a 409 conflict, and so is a retry while the first request is still being answered (with Retry-After).',
          querystring: strictQuery({ wait: booleanQuery }),
          headers: idempotencyKeyHeaders,
          body: createRunBody,
          response: { 200: run, 202: run, ...errorResponses },
        },
      },
      async (request, reply) => {
        const { agent, cancelOnDisconnect, ...fields } = request.body
        await ctx.webhooks.check(fields.webhook)
        const key = request.headers['idempotency-key']
        const runs = scopeOf(ctx, request).runs
        const { run: created, replayed } = key
          ? await runs.submitOnce(key, requestDigest(request.body), agent ?? ctx.config.AI_PROVIDER, fields)
          : { run: await runs.submit(agent ?? ctx.config.AI_PROVIDER, fields), replayed: false }
        bindLog(request, reply, { runId: created.id })
        if (replayed) reply.header('idempotent-replayed', 'true')
        const location = `/v1/runs/${created.id}`
        const format = acceptedStream(request)
        if (format) {
          await sendEventStream(
            reply,
            format,
            (signal) => scopeOf(ctx, request).runs.events(created.id, 0, signal),
            {
              keepAliveMs,
              headers: { location, 'x-run-id': created.id },
              onClientGone: () => {
                if (cancelOnDisconnect)
                  scopeOf(ctx, request)
                    .runs.cancel(created.id)
                    .catch(() => {})
              },
            },
          )
          return reply
        }
        if (request.query.wait)
          return reply
            .header('location', location)
            .status(200)
            .send(await scopeOf(ctx, request).runs.wait(created.id))
        return reply
          .header('location', location)
          .status(replayed ? 200 : 202)
          .send(created)
      },
    )

    listRoute(app, {
      url: '/v1/runs',
      tags,
      summary: 'List runs, newest first',
      key: 'runs',
      page: runList,
      status: run.shape.status,
      load: (filter, request) => scopeOf(ctx, request).runs.list(filter),
    })

    getRoute(app, {
      url: '/v1/runs/:id',
      tags,
      summary: 'One run: status, outcome, final response, usage',
      item: run,
      load: (id, request) => scopeOf(ctx, request).runs.mustGet(id),
    })

    eventsRoute(app, {
      url: '/v1/runs/:id/events',
      tags,
      summary: "A run's events: SSE (default) or NDJSON, replayed from Last-Event-ID or ?after=",
      keepAliveMs,
      mustExist: (id, request) => scopeOf(ctx, request).runs.mustGet(id),
      events: (id, after, signal, request) => scopeOf(ctx, request).runs.events(id, after, signal),
    })

    app.post(
      '/v1/runs/:id/cancel',
      {
        config,
        schema: {
          tags,
          summary: 'Cancel a queued or running run',
          description:
            'Answers 200 with the finished run once its end is stored. A run this node runs is ended here first, without the store: while the store does not answer (its outage known, its read failed, or not answered within 2 s), 202 with the run as this node ended it (its agent stopped); its record follows once the store answers again (GET /v1/runs/:id).',
          params: idParams,
          response: { 200: run, 202: run, ...errorResponses },
        },
      },
      async (request, reply) => {
        const { run: ended, stored } = await scopeOf(ctx, request).runs.cancelAndTell(request.params.id)
        return reply.status(stored ? 200 : 202).send(ended)
      },
    )
  }
}
