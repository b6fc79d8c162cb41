import type { FastifyInstance, RouteOptions } from 'fastify'
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod'
import { swaggerRequestInterceptor } from './docs-token.js'
import { innerApp } from './inner-app.js'
import { completeDocument } from './openapi-complete.js'

/**
 * The OpenAPI document and Swagger UI, in an inner app (http/inner-app.ts) built on the first request for
 * /openapi.json or /docs (http/openapi.ts forwards those), so an idle server never loads
 * @fastify/swagger, @fastify/swagger-ui and what they need (yaml, json-schema-resolver, @fastify/static, glob).
 * The gateway's routes, as its `onRoute` hook recorded them, are declared again here in the same order, so
 * @fastify/swagger sees what it would have seen registered on the gateway itself (hidden ones left out: the
 * document leaves them out, and the gateway's own /docs routes would clash with Swagger UI's).
 */
export async function buildDocsApp(
  routes: readonly RouteOptions[],
  version: string,
): Promise<FastifyInstance> {
  const [{ default: swagger }, { default: swaggerUi }] = await Promise.all([
    import('@fastify/swagger'),
    import('@fastify/swagger-ui'),
  ])
  const docs = innerApp()
  await docs.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'agent-gateway',
        version,
        description:
          "Run coding-agent CLIs behind HTTP. The /v1 API is the native one; the other routes serve the seed systems' exact shapes.",
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'One of API_TOKENS, when set' },
        },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: (input) => completeDocument(jsonSchemaTransformObject(input) as never) as never,
  })
  const answerNothing = async () => undefined
  await docs.register(async (scope) => {
    for (const r of routes) {
      if ((r.schema as { hide?: boolean } | undefined)?.hide) continue // left out of the document anyway
      scope.route({
        method: r.method,
        url: r.url,
        ...(r.schema ? { schema: r.schema } : {}),
        ...(r.config ? { config: r.config } : {}),
        ...('links' in r ? { links: r.links } : {}),
        handler: answerNothing,
      } as RouteOptions)
    }
  })
  await docs.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { requestInterceptor: swaggerRequestInterceptor as never, persistAuthorization: false },
  })
  await docs.ready()
  return docs
}
