import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { namePattern } from '../../config/api-tokens.js'
import type { GatewayContext } from '../../core/context.js'
import { AppError } from '../../protocol/errors.js'
import { v1Config } from './route-kit.js'
import { errorResponses } from './schemas.js'
import { strictQuery } from './strict-fields.js'

const tags = ['webhooks']

const webhookSecret = z.object({
  tenant: z.string().describe('The tenant whose webhook deliveries this secret verifies.'),
  secret: z
    .string()
    .describe(
      'A Standard Webhooks secret, `whsec_<base64 key>`: give it to any Standard Webhooks library (or check `webhook-signature` yourself: v1, base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>").',
    ),
})

/**
 * GET /v1/webhook-secret: the key a tenant's receivers verify its deliveries with (core/ops/webhook-keys.ts). A
 * tenant's token gets its own tenant's; an untenanted token with `admin` names the tenant (`?tenant=`), so an
 * operator can hand it out. The untenanted deliveries verify with WEBHOOK_SECRET, which is never served.
 */
export function v1WebhookRoutes(ctx: GatewayContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/v1/webhook-secret',
      {
        // who may set a webhook (`run`) may verify its deliveries
        config: { ...v1Config, scope: 'run' },
        schema: {
          tags,
          summary: "The secret that verifies a tenant's webhook deliveries",
          description:
            "The deliveries of a tenant's runs' and sessions' own `webhook` are signed with a key of that tenant's, derived from WEBHOOK_SECRET: a tenant's token (scope `run`) gets its own tenant's secret here; an untenanted token with `admin` names a tenant with `?tenant=`. Deliveries to WEBHOOK_URLS and of untenanted runs and sessions verify with WEBHOOK_SECRET itself, which this never answers. The secret changes when the operator changes WEBHOOK_SECRET (docs/SECURITY.md).",
          querystring: strictQuery({
            tenant: z
              .string()
              .regex(namePattern, 'tenant must be a tenant name as API_TOKENS gives it')
              .optional(),
          }),
          response: { 200: webhookSecret, 400: errorResponses[400] },
        },
      },
      async (request) => {
        const own = request.principal.tenant
        const asked = request.query.tenant
        if (own !== null && asked !== undefined && asked !== own)
          throw new AppError(
            'forbidden',
            `token "${request.principal.name}" is bound to tenant "${own}" and gets that tenant's secret only`,
          )
        const tenant = own ?? asked
        if (tenant === undefined)
          throw new AppError(
            'invalid_request',
            'name the tenant (?tenant=<tenant>): untenanted deliveries verify with WEBHOOK_SECRET itself, which is not served',
          )
        if (own === null && !request.principal.scopes.has('admin'))
          throw new AppError(
            'forbidden',
            `token "${request.principal.name}" lacks the "admin" scope another tenant's secret needs`,
          )
        return { tenant, secret: ctx.webhooks.secretOf(tenant) }
      },
    )
  }
}
