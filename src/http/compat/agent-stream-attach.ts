import { policiesWithoutApprovals } from '../../core/approval-policy.js'
import type { GatewayContext } from '../../core/context.js'
import type { TenantScope } from '../../core/tenancy/tenancy.js'
import type { TurnOptions } from '../../core/turn-options.js'
import { AppError } from '../../protocol/errors.js'
import type { Session } from '../../protocol/sessions.js'
import type { StreamApprovalPolicy, UserMessageFrame } from './agent-stream-frames.js'

/** approvalPolicy -> the session's sandbox and approval settings (docs/agent-stream.md has the table). */
const policySettings = {
  suggest: { sandbox: 'workspace-write', approvalPolicy: 'untrusted' },
  'auto-edit': { sandbox: 'workspace-write', approvalPolicy: 'untrusted' },
  'full-auto': { sandbox: 'workspace-write', approvalPolicy: 'never' },
} as const
/** The stream policies an agent without approvals honours: those whose approval setting it takes (`full-auto`). */
const policiesHonouredWithoutApprovals = (Object.keys(policySettings) as StreamApprovalPolicy[]).filter((p) =>
  policiesWithoutApprovals.includes(policySettings[p].approvalPolicy),
)

/**
 * What a turn a stream starts under `policy` asks of its session (core/turn-options.ts refuses what the agent
 * cannot honour): the policy's approval setting when it is not the session's own, else nothing. The sandbox is
 * the session's (all three policies have the one a stream creates its sessions with: workspace-write).
 */
export function streamTurnOptions(
  session: Pick<Session, 'approvalPolicy'>,
  policy: StreamApprovalPolicy,
): TurnOptions {
  const approvalPolicy = policySettings[policy].approvalPolicy
  return approvalPolicy === session.approvalPolicy ? {} : { approvalPolicy }
}

/**
 * The policy a stream keeps on a session of `agent`: the one chosen, else `suggest`. An agent without approvals
 * (claude, gemini, copilot: nobody can answer them) honours only the stream policies whose approval setting is one
 * it takes (core/approval-policy.ts: `full-auto`), and defaults to it: a policy that promises asking is refused
 * rather than ignored.
 */
export function streamPolicyOn(
  scope: TenantScope,
  agent: string,
  chosen: StreamApprovalPolicy | undefined,
): StreamApprovalPolicy {
  if (scope.registry.find(agent)?.capabilities.approvals !== false) return chosen ?? 'suggest'
  const honoured = policiesHonouredWithoutApprovals
  if (!chosen) return honoured[0]!
  if (honoured.includes(chosen)) return chosen
  throw new AppError(
    'invalid_request',
    `agent ${agent} cannot ask for approvals: what its sandbox does not allow is refused, never asked. ` +
      `approvalPolicy "${chosen}" would not be honoured: send ${honoured.map((p) => `"${p}"`).join(' or ')} or ` +
      'leave approvalPolicy out, or choose an agent with approvals (GET /v1/agents: approvalPolicies)',
  )
}

/** Session creation is serialised per tenant and client session id, so two streams naming a new id get one session. */
const creating = new Map<string, Promise<Session>>()

/** Streams attached to each gateway session (this process): the last one to leave ends the running turn. */
const attachedStreams = new Map<string, number>()

/**
 * The session a stream's first `user_message` names by its client `sessionId` (in the caller's tenant scope),
 * created with that message's settings when it is new (its policy: streamPolicyOn).
 */
export async function findOrCreateSession(
  ctx: GatewayContext,
  scope: TenantScope,
  f: UserMessageFrame,
): Promise<Session> {
  const externalId = f.sessionId!
  const existing = await scope.sessions.byExternalId(externalId)
  if (existing) return existing
  // Client session ids are unique server-wide; one of another tenant is never joined, nor named.
  if (await ctx.store.findSessionByExternalId(externalId))
    throw new AppError('conflict', `sessionId "${externalId}" is taken; choose another`)
  const key = `${scope.tenant ?? ''}\0${externalId}`
  let pending = creating.get(key)
  if (!pending) {
    const o = f.configOverrides ?? {}
    const agent = o.agent ?? 'codex'
    pending = scope.sessions
      .create(agent, {
        externalId,
        ...policySettings[streamPolicyOn(scope, agent, o.approvalPolicy)],
        ...(o.model ? { model: o.model } : {}),
        ...(o.cwd ? { cwd: o.cwd } : {}),
      })
      // another creator (POST /v1/sessions {externalId}) stored it first: this tenant's, it is joined
      .catch(async (err: unknown) => {
        const winner = await scope.sessions.byExternalId(externalId)
        if (winner) return winner
        throw err
      })
      .finally(() => creating.delete(key))
    creating.set(key, pending)
  }
  return pending
}

/**
 * A stream attached to the session; the returned function detaches it (once: later calls change nothing) and says
 * how many others still follow the session.
 */
export function attachStream(sessionId: string): () => number {
  attachedStreams.set(sessionId, (attachedStreams.get(sessionId) ?? 0) + 1)
  let others: number | undefined
  return () => {
    if (others !== undefined) return others
    others = (attachedStreams.get(sessionId) ?? 1) - 1
    if (others > 0) attachedStreams.set(sessionId, others)
    else attachedStreams.delete(sessionId)
    return others
  }
}

/** How many streams of this process follow the session now. */
export function streamsAttached(sessionId: string): number {
  return attachedStreams.get(sessionId) ?? 0
}
