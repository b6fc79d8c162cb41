import type { FastifyRequest } from 'fastify'
import type { GatewayContext } from '../core/context.js'
import type { TenantScope } from '../core/tenancy/tenancy.js'

/**
 * The scope a request works in: its token's tenant (its own runs, sessions, approvals, agents), or the
 * untenanted one. Every route reaches runs, sessions and approvals only through this.
 */
export function scopeOf(ctx: GatewayContext, request: FastifyRequest): TenantScope {
  return ctx.tenancy.scope(request.principal?.tenant ?? null)
}
