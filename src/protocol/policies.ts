import { z } from 'zod'

/** The sandbox and approval vocabulary every layer shares (request fields, settings, events, stored approvals). */

/** How much of the machine the agent may touch. */
export const sandboxMode = z.enum(['read-only', 'workspace-write', 'danger-full-access'])
export type SandboxMode = z.infer<typeof sandboxMode>

/** When the agent asks before acting (codex's `approval_policy`). */
export const approvalPolicy = z.enum(['untrusted', 'on-request', 'on-failure', 'never'])
export type ApprovalPolicy = z.infer<typeof approvalPolicy>

/**
 * The approval policy an agent reported it opened a session's thread with, as the agent named it: one of the
 * policies, or codex's `granular` form (what its configuration may set), kept as given.
 */
export const agentApprovalPolicy = z.union([
  approvalPolicy,
  z.object({ granular: z.record(z.string(), z.boolean()) }),
])
export type AgentApprovalPolicy = z.infer<typeof agentApprovalPolicy>

/** An answer to an approval request. */
export const approvalDecision = z.enum(['accept', 'accept_for_session', 'decline', 'cancel'])
export type ApprovalDecision = z.infer<typeof approvalDecision>

/** What an approval request asks permission for. */
export const approvalKind = z.enum(['command', 'file_change', 'permission'])
export type ApprovalKind = z.infer<typeof approvalKind>

/** A file an approval request would change. */
/** A file an approval would change; `diff` is the change as a unified diff when the agent sent one. */
export const approvalChange = z.object({ path: z.string(), kind: z.string(), diff: z.string().optional() })

/** A session's state (also the payload of `session.status`). */
export const sessionState = z.enum(['idle', 'running', 'waiting_for_approval', 'archived'])
export type SessionState = z.infer<typeof sessionState>
