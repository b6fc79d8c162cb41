import { createRequire } from 'node:module'
import Fastify, { type FastifyInstance } from 'fastify'
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import type { GatewayContext } from '../core/context.js'
import { registerAuth } from './auth.js'
import { codexAgentServerRoutes } from './compat/codex-agent-server.js'
import { codexApiPlanRoutes } from './compat/codex-api-plan.js'
import { codexServeRoutes } from './compat/codex-serve.js'
import { codexStreamingRoutes } from './compat/codex-streaming.js'
import { errorHandler } from './errors.js'
import { healthRoutes } from './health.js'
import { registerOpenApi } from './openapi.js'
import { v1AgentRoutes } from './v1/agents.js'
import { v1ApprovalRoutes } from './v1/approvals.js'
import { v1RunRoutes } from './v1/runs.js'
import { v1SessionRoutes } from './v1/sessions.js'

const packageVersion = (createRequire(import.meta.url)('../../package.json') as { version: string }).version

/** Builds the Fastify app with every surface; no listening here (tests use `inject` or server.ts). */
export async function buildApp(
  ctx: GatewayContext,
  opts: { logger?: boolean } = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: ctx.config.BODY_LIMIT_BYTES,
    logger:
      opts.logger === false
        ? false
        : {
            level: ctx.config.LOG_LEVEL,
            redact: ['req.headers.authorization', 'req.headers.cookie'],
          },
  }).withTypeProvider<ZodTypeProvider>()
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler((request, reply) => {
    reply
      .status(404)
      .send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url}` } })
  })
  registerAuth(app, ctx.config.API_TOKENS)
  await registerOpenApi(app, packageVersion)
  await app.register(healthRoutes(ctx))
  await app.register(v1AgentRoutes(ctx))
  await app.register(v1RunRoutes(ctx))
  await app.register(v1SessionRoutes(ctx))
  await app.register(v1ApprovalRoutes(ctx))
  await app.register(codexApiPlanRoutes(ctx))
  await app.register(codexServeRoutes(ctx))
  await app.register(codexStreamingRoutes(ctx))
  await app.register(codexAgentServerRoutes(ctx))
  return app
}
