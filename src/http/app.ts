import { createRequire } from 'node:module'
import Fastify, {
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyServerFactory,
  type FastifyServerOptions,
} from 'fastify'
import {
  type FastifyPluginAsyncZod,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod'
import type { GatewayContext } from '../core/context.js'
import { logTap } from '../core/ops/log-tap.js'
import { AppError, errorRegistry } from '../protocol/errors.js'
import { registerAuth } from './auth.js'
import { registerBodyClock } from './body-clock.js'
import { registerBrowserOriginGuard } from './browser-origin.js'
import { agentStreamRoutes } from './compat/agent-stream-h2.js'
import { agentStreamWsRoutes } from './compat/agent-stream-ws.js'
import { codexAgentServerRoutes } from './compat/codex-agent-server.js'
import { codexApiPlanRoutes } from './compat/codex-api-plan.js'
import { codexServeRoutes } from './compat/codex-serve.js'
import { codexStreamingRoutes } from './compat/codex-streaming.js'
import { sendFastapiJson } from './compat/fastapi-content-type.js'
import { registerSeedCors } from './compat/seed-cors.js'
import { registerConsole } from './console.js'
import { errorBody, errorHandler, frameworkErrorHandler } from './errors.js'
import { recordFrameworkFolders } from './framework-folders.js'
import { registerH2ResponseHeaders } from './h2-response-headers.js'
import { registerHeadAnswers } from './head-answers.js'
import { healthRoutes } from './health.js'
import { registerInputGuard } from './input-guard.js'
import { type LogSink, loggerOptions } from './logging.js'
import { methodNotAllowed, recordRoutes } from './method-not-allowed.js'
import { decorateMetrics, metricsRoutes } from './metrics.js'
import './openapi-components.js'
import { registerOpenApi } from './openapi.js'
import { genReqId, registerRequestLog } from './request-log.js'
import { serializerCompiler } from './response-serializer.js'
import { v1AgentRoutes } from './v1/agents.js'
import { v1ApprovalRoutes } from './v1/approvals.js'
import { v1RunRoutes } from './v1/runs.js'
import { v1SessionRoutes } from './v1/sessions.js'
import { v1WebhookRoutes } from './v1/webhooks.js'

const packageVersion = (createRequire(import.meta.url)('../../package.json') as { version: string }).version

/** The routes of every surface, registered in this order (each gets the gateway context). */
const surfaces: ((ctx: GatewayContext) => FastifyPluginAsync | FastifyPluginAsyncZod)[] = [
  healthRoutes,
  metricsRoutes,
  v1AgentRoutes,
  v1RunRoutes,
  v1SessionRoutes,
  v1ApprovalRoutes,
  v1WebhookRoutes,
  codexApiPlanRoutes,
  codexServeRoutes,
  codexStreamingRoutes,
  codexAgentServerRoutes,
  agentStreamRoutes,
  agentStreamWsRoutes,
]

/**
 * zod validates and serializes every route (set again on the root below, for the types): given as Fastify's
 * compilers from the start, Fastify does not load its default ones (ajv, about 60 CommonJS files).
 */
const zodCompilers = {
  compilersFactory: { buildValidator: () => validatorCompiler, buildSerializer: () => serializerCompiler },
} as unknown as FastifyServerOptions['schemaController']

/**
 * A body sent as text/plain (curl's `--data` with a wrong header, fetch with a string body) is a 415 saying to
 * send JSON, like every other type but JSON; Fastify's own parser would hand the text to a JSON schema and answer
 * "expected object, received string". An empty one stays no body (a POST /fork from fetch with `body: ''`).
 */
function refuseTextBodies(app: FastifyInstance): void {
  app.removeContentTypeParser('text/plain')
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_request, body, done) => {
    if (body === '') return done(null, undefined)
    done(
      new AppError(
        'unsupported_media_type',
        `${errorRegistry.unsupported_media_type.message}, not text/plain`,
      ),
    )
  })
}

/** Builds the Fastify app with every surface; no listening here (tests use `inject` or server.ts). */
export async function buildApp(
  ctx: GatewayContext,
  opts: {
    logger?: boolean
    logStream?: LogSink
    serverFactory?: FastifyServerFactory
    /** What answers a request Node's HTTP/1.1 parser refused (slow, too large, malformed head). */
    clientErrorHandler?: FastifyServerOptions['clientErrorHandler']
  } = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    ...(opts.serverFactory ? { serverFactory: opts.serverFactory } : {}),
    ...(opts.clientErrorHandler ? { clientErrorHandler: opts.clientErrorHandler } : {}),
    frameworkErrors: frameworkErrorHandler,
    bodyLimit: ctx.config.BODY_LIMIT_BYTES,
    requestIdHeader: false,
    genReqId,
    schemaController: zodCompilers,
    logger: opts.logger === false ? false : loggerOptions(ctx.config, ctx.redactor, opts.logStream),
  }).withTypeProvider<ZodTypeProvider>()
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  app.setErrorHandler(errorHandler)
  const otherMethods = recordRoutes(app)
  const frameworkFolder = recordFrameworkFolders(app)
  app.setNotFoundHandler((request, reply) => {
    // after the onRequest hooks: without a valid token this was a 401, as for any unknown path
    const path = request.url.split('?', 1)[0] ?? ''
    const other = otherMethods(request)
    if (other?.answer) return other.answer(request, reply)
    if (other) {
      const error = methodNotAllowed(request.method, path, other)
      const body = errorBody(error, other.errorShape, other.provider)
      reply.status(405).header('allow', other.allow.join(', '))
      if (other.errorShape === 'fastapi') sendFastapiJson(reply, body)
      else reply.send(body)
      return
    }
    // an unknown path in a FastAPI seed's own folder (/api/thread/nothing): FastAPI's words
    const framework = frameworkFolder(path)
    if (framework)
      return sendFastapiJson(reply.status(404), errorBody(new AppError('not_found', 'Not Found'), framework))
    reply.status(404).send({
      error: {
        code: 'not_found',
        message: `no route ${request.method} ${request.url}: the routes are listed at /docs (OpenAPI 3.1 at /openapi.json)`,
      },
    })
  })
  refuseTextBodies(app)
  registerRequestLog(app)
  ctx.tapEvents(logTap(app.log))
  ctx.fencing.attach(app.log)
  ctx.approvalNotices.attach(app.log)
  ctx.sessionNotices.attach(app.log)
  ctx.storeNotices.attach(app.log)
  // before the token check: a browser's CORS preflight carries no token
  registerSeedCors(app, ctx.config.apiTokens.length > 0)
  registerAuth(app, ctx.config.apiTokens, ctx.config.METRICS_TOKEN)
  registerBrowserOriginGuard(app, ctx.config.apiTokens.length > 0)
  registerInputGuard(app)
  registerH2ResponseHeaders(app)
  registerHeadAnswers(app)
  registerBodyClock(
    app,
    { idleMs: ctx.config.BODY_IDLE_SECONDS * 1000, minBytesPerSecond: ctx.config.BODY_MIN_BYTES_PER_SECOND },
    () => ctx.metrics.connectionRefused('body_timeout'),
  )
  await registerOpenApi(app, packageVersion)
  decorateMetrics(app, ctx.metrics)
  for (const routes of surfaces) await app.register(routes(ctx))
  await registerConsole(app)
  return app
}
