import type { AgentDriver } from '../agents/driver.js'
import type { AgentRegistry } from '../agents/registry.js'
import { isSessionDriver, type TurnOptions } from '../agents/session.js'
import { AppError } from '../protocol/errors.js'
import type { ApprovalPolicy } from '../protocol/policies.js'
import type { Session } from '../protocol/sessions.js'
import { checkApprovalPolicy } from './approval-policy.js'
import { checkJsonSchema, checkOutputSchema } from './output-schema.js'
import type { OnBusy } from './turn-queue.js'

export type { TurnOptions }

/**
 * What a turn of `session` runs with, of what it asked for (POST /v1/sessions/:id/turns, /agent/stream, seed 003's
 * turn/start): a policy or an output schema is honoured for that turn, or refused (400) before anything runs, never
 * ignored. An agent whose driver takes a policy per turn (codex) runs the turn with it; another one runs every turn
 * with its session's policy, so a turn may only name that one (an agent without approvals: `never`, which it always
 * runs with). An output schema needs a driver whose capabilities have `turnOutputSchema` (codex). A steered input
 * joins the running turn, which keeps its own.
 */
export function turnOptionsOf(
  registry: AgentRegistry,
  session: Pick<Session, 'agent' | 'approvalPolicy'>,
  requested: TurnOptions,
  onBusy: OnBusy = 'queue',
): TurnOptions {
  const { approvalPolicy, outputSchema } = requested
  if (!approvalPolicy && !outputSchema) return {}
  if (onBusy === 'steer')
    throw new AppError(
      'invalid_request',
      `${approvalPolicy ? 'approvalPolicy' : 'outputSchema'} cannot go with onBusy "steer": steered input joins the running turn, which keeps its own ${approvalPolicy ? 'policy' : 'settings'}. Send it with onBusy "queue" or "reject"`,
    )
  const driver = registry.find(session.agent)
  if (!driver) return {} // the session's agent is gone: opening it fails with why
  return {
    ...(approvalPolicy ? policyOption(registry, driver, session, approvalPolicy) : {}),
    ...(outputSchema ? schemaOption(driver, outputSchema) : {}),
  }
}

/** A turn's approval policy: honoured by a driver that takes one per turn, else only the session's own. */
function policyOption(
  registry: AgentRegistry,
  driver: AgentDriver,
  session: Pick<Session, 'approvalPolicy'>,
  policy: ApprovalPolicy,
): TurnOptions {
  checkApprovalPolicy(driver, policy, registry)
  if (isSessionDriver(driver) && driver.approvalPolicyPerTurn) return { approvalPolicy: policy }
  // every turn runs with the session's policy: naming that one changes nothing, and an agent without approvals
  // runs with `never` (the only one checkApprovalPolicy let through) whatever its session says
  if (policy === session.approvalPolicy || !driver.capabilities.approvals) return {}
  throw new AppError(
    'invalid_request',
    `agent ${driver.id} takes its approval policy when the session is created, not per turn: this session runs ` +
      `every turn with ${session.approvalPolicy ? `"${session.approvalPolicy}"` : "the agent's default"}, so ` +
      `approvalPolicy "${policy}" would not be honoured. Leave approvalPolicy out, or create a session with it`,
    { agent: driver.id, approvalPolicy: policy, sessionApprovalPolicy: session.approvalPolicy },
  )
}

/**
 * A turn's output schema, bounded as a run's (size, `$ref`s within itself) and a valid JSON Schema (output-schema.ts);
 * refused for an agent whose turns cannot take one (capabilities.turnOutputSchema false) rather than ignored.
 */
function schemaOption(driver: AgentDriver, schema: Record<string, unknown>): TurnOptions {
  checkOutputSchema(schema)
  checkJsonSchema(schema)
  if (isSessionDriver(driver) && driver.capabilities.turnOutputSchema) return { outputSchema: schema }
  throw new AppError(
    'invalid_request',
    `agent ${driver.id} takes no outputSchema for a session turn (capabilities.turnOutputSchema is false in ` +
      `GET /v1/agents), so it would not be honoured. Leave outputSchema out`,
    { agent: driver.id, capability: 'turnOutputSchema' },
  )
}
