import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { agentModels, describeAgent } from '../../core/agent-catalog.js'
import type { GatewayContext } from '../../core/context.js'
import { approvalPolicy } from '../../protocol/policies.js'
import { scopeOf } from '../tenant-scope.js'
import { errorResponses } from './schemas.js'
import { strictQuery } from './strict-fields.js'

const config = { errorShape: 'v1' as const }
const tags = ['agents']

const agentInfo = z.object({
  id: z.string(),
  installed: z.boolean(),
  version: z.string().nullable(),
  authenticated: z.boolean(),
  hint: z.string().nullable(),
  capabilities: z.object({
    sessions: z.boolean(),
    approvals: z.boolean(),
    fork: z.boolean(),
    interrupt: z.boolean(),
    steer: z
      .boolean()
      .describe(
        'A running turn of its sessions takes more input (a turn sent with `onBusy: "steer"`); without it that input is queued as the next turn.',
      ),
    images: z.boolean(),
    outputSchema: z
      .boolean()
      .describe(
        "A run (POST /v1/runs) takes an `outputSchema`: its final response is held to it and parsed into the run's `result`; without it a run naming one is a 400. Says nothing of session turns: see `turnOutputSchema`.",
      ),
    turnOutputSchema: z
      .boolean()
      .describe(
        "A session's turn (POST /v1/sessions/:id/turns, seed 003's /api/turn/start) takes an `outputSchema` for that turn alone: the agent holds that turn's final message to it (codex: its `turn/start`'s `outputSchema`); without it a turn naming one is a 400.",
      ),
  }),
  approvalPolicies: z
    .array(approvalPolicy)
    .describe(
      "The `approvalPolicy` values a session of this agent accepts (POST /v1/sessions, seed 003's /api/thread/start, seed 004's configOverrides as mapped): every one for an agent with approvals, only `never` for one without (claude, gemini, copilot run headless: nobody can answer them, so they never ask); another is a 400.",
    ),
  /** Skills the agent offers (codex app-server `skills/list`); null when it has none or cannot list them. */
  skills: z.array(z.string()).nullable(),
})

/** The container engine behind `isolation: "container"` (null when no image is configured). */
const containerInfo = z
  .object({
    kind: z.enum(['local', 'container']),
    engine: z.string().optional(),
    version: z.string().nullable().optional(),
    available: z.boolean(),
    image: z.string().nullable().optional(),
    /** What every agent container is limited to (CONTAINER_NETWORK, _MEMORY, _CPUS, _PIDS_LIMIT, ...). */
    limits: z
      .object({
        network: z.string(),
        memory: z.string().nullable(),
        cpus: z.string().nullable(),
        pidsLimit: z.number().int(),
        user: z.string(),
        tmpfsSize: z.string(),
        ulimits: z.array(z.string()),
      })
      .optional(),
  })
  .nullable()

/** GET /v1/agents and GET /v1/models. */
export function v1AgentRoutes(ctx: GatewayContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/v1/agents',
      {
        config,
        schema: {
          tags,
          summary: 'Drivers with installed version, auth state and capabilities',
          response: {
            200: z.object({ agents: z.array(agentInfo), default: z.string(), containers: containerInfo }),
          },
        },
      },
      async (request) => ({
        default: ctx.config.AI_PROVIDER,
        containers: (await ctx.registry.runner.describe()).container ?? null,
        agents: await Promise.all(scopeOf(ctx, request).registry.list().map(describeAgent)),
      }),
    )

    app.get(
      '/v1/models',
      {
        config,
        schema: {
          tags,
          summary:
            "Models an agent offers: MODEL_LIST when set, else the agent's own list (codex model/list)",
          querystring: strictQuery({ agent: z.string().optional() }),
          response: {
            200: z.object({ agent: z.string(), models: z.array(z.string()) }),
            400: errorResponses[400],
          },
        },
      },
      async (request) => {
        const agent = scopeOf(ctx, request).registry.get(request.query.agent ?? ctx.config.AI_PROVIDER)
        return { agent: agent.id, models: await agentModels(agent, ctx.config) }
      },
    )
  }
}
