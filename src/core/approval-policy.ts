import type { AgentDriver } from '../agents/driver.js'
import type { AgentRegistry } from '../agents/registry.js'
import { isSessionDriver } from '../agents/session.js'
import { AppError } from '../protocol/errors.js'
import { type ApprovalPolicy, approvalPolicy } from '../protocol/policies.js'

/**
 * What an agent without approvals (capabilities.approvals false: gemini and copilot, run headless)
 * honours: `never`. Nobody can answer such an agent, so it never asks; what its sandbox does not allow is
 * refused and the model is told so (each driver's permissions.ts says how).
 */
export const policiesWithoutApprovals: readonly ApprovalPolicy[] = ['never']

/** The approval policies a session of this agent accepts (GET /v1/agents): every one, or only `never`. */
export function acceptedApprovalPolicies(
  driver: Pick<AgentDriver, 'capabilities'>,
): readonly ApprovalPolicy[] {
  return driver.capabilities.approvals ? approvalPolicy.options : policiesWithoutApprovals
}

/**
 * One rule for every surface that creates a session: an approval policy the agent cannot honour is refused
 * (400), never stored and ignored. No policy at all is the agent's own default.
 */
export function checkApprovalPolicy(
  driver: AgentDriver,
  requested: ApprovalPolicy | undefined,
  registry: AgentRegistry,
): void {
  if (!requested || acceptedApprovalPolicies(driver).includes(requested)) return
  const withApprovals = registry
    .list()
    .filter((d) => d.capabilities.approvals && isSessionDriver(d))
    .map((d) => d.id)
  const elsewhere = withApprovals.length
    ? `, or choose an agent with approvals: ${withApprovals.join(', ')}`
    : ' (no agent with approvals is enabled here)'
  throw new AppError(
    'invalid_request',
    `agent ${driver.id} cannot ask for approvals: it runs with nobody to answer it, so what its sandbox does not ` +
      `allow is refused, never asked. approvalPolicy "${requested}" would not be honoured: send ` +
      `${policiesWithoutApprovals.map((p) => `"${p}"`).join(' or ')} or leave approvalPolicy out${elsewhere} ` +
      '(GET /v1/agents: approvalPolicies)',
    {
      agent: driver.id,
      approvalPolicy: requested,
      supported: policiesWithoutApprovals,
      agentsWithApprovals: withApprovals,
    },
  )
}
