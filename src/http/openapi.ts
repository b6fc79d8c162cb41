import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod'
import { swaggerRequestInterceptor } from './docs-token.js'
import { completeDocument } from './openapi-complete.js'
import { registerRedoc } from './redoc.js'

/**
 * OpenAPI 3.1 generated from the routes' zod schemas: the document at /openapi.json, Swagger UI at /docs and
 * ReDoc at /redoc (both send the token the console saved).
 * Must be registered before the routes so it sees them.
 */
export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
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
  // swagger-ui redirects /docs/static/index.html to /docs/ only when no query follows; with one it
  // redirected to itself forever. Any query on that page is dropped here instead.
  app.addHook('onRequest', async (request, reply) => {
    if (/^\/docs\/static\/index\.html\?/.test(request.url)) return reply.redirect('/docs/')
  })
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { requestInterceptor: swaggerRequestInterceptor as never, persistAuthorization: false },
  })
  registerRedoc(app)
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}
