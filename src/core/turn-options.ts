import type { AgentRegistry } from '../agents/registry.js'
import { isSessionDriver, type TurnOptions } from '../agents/session.js'
import { AppError } from '../protocol/errors.js'
import type { Session } from '../protocol/sessions.js'
import { checkApprovalPolicy } from './approval-policy.js'
import type { OnBusy } from './turn-queue.js'

export type { TurnOptions }

/**
 * What a turn of `session` runs with, of what it asked for (POST /v1/sessions/:id/turns, /agent/stream): a
 * policy is honoured for that turn, or refused (400) before anything runs, never ignored. An agent whose
 * driver takes a policy per turn (codex) runs the turn with it; another one runs every turn with its session's
 * policy, so a turn may only name that one (an agent without approvals: `never`, which it always runs with). A
 * steered input joins the running turn, which keeps its policy.
 */
export function turnOptionsOf(
  registry: AgentRegistry,
  session: Pick<Session, 'agent' | 'approvalPolicy'>,
  requested: TurnOptions,
  onBusy: OnBusy = 'queue',
): TurnOptions {
  const policy = requested.approvalPolicy
  if (!policy) return {}
  if (onBusy === 'steer')
    throw new AppError(
      'invalid_request',
      'approvalPolicy cannot go with onBusy "steer": steered input joins the running turn, which keeps its own policy. Send it with onBusy "queue" or "reject"',
    )
  const driver = registry.find(session.agent)
  if (!driver) return {} // the session's agent is gone: opening it fails with why
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
