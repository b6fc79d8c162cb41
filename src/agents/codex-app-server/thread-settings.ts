import type { Config } from '../../config/load.js'
import { resolveModel } from '../../protocol/models.js'
import type { AgentApprovalPolicy, SandboxMode } from '../../protocol/policies.js'
import { confinedProfile, sessionProfile } from '../codex/read-profiles.js'
import type { ApprovalPolicy, SessionRequest, TurnInput } from '../session.js'
import type { AskForApproval } from './generated/v2/AskForApproval.js'
import type { UserInput } from './generated/v2/UserInput.js'
import { escalationAllowed, heldApproval } from './held-sandbox.js'
import { askForApproval as askForApprovalWire } from './wire-schemas.js'

/** What a codex thread is started (and resumed, and forked) with: a session's request, with defaults. */
export interface ThreadSettings {
  cwd: string
  /** The model the thread runs; set from codex's answer when the request named none. */
  model?: string
  sandbox: SandboxMode
  /**
   * The permission profile the thread selects instead of `sandbox`: with CODEX_CONFINE_READS the read-confining
   * one; else, for a thread whose policy is `untrusted`, the one with a denied read (read-profiles.ts
   * sessionProfiles), so that codex retries no accepted command its sandbox denied without the sandbox. None for
   * danger-full-access, in a container, with ALLOW_DANGER_FULL_ACCESS (reads not confined), for another policy
   * (codex retries only under `untrusted`), or for a warm run (approval `never`) whose reads are not confined.
   */
  permissions?: string
  /**
   * Without `permissions`: the profile the thread is reopened with before a turn that runs `untrusted`
   * (codex-session.ts `profiledFor`), since `turn/start` takes no profile.
   */
  untrustedPermissions?: string
  approvalPolicy?: ApprovalPolicy
  /**
   * Without `approvalPolicy`: the thread's own policy, as codex reported it when the thread started (kept in the
   * session). Named on every open, since codex restores the last turn's override from the rollout on a
   * `thread/resume` in a new app-server.
   */
  ownApproval?: AskForApproval
  /**
   * Whether codex may ask for the model's unsandboxed runs (held-sandbox.ts): the sandbox is danger-full-access or
   * ALLOW_DANGER_FULL_ACCESS is on. Absent: not, and codex is given its policy without them.
   */
  escalationAllowed?: boolean
}

/**
 * The request's settings; model and sandbox default to CODEX_MODEL and CODEX_SANDBOX like `codex exec`. A thread
 * selects the profile with a denied read only when its policy (the session's, else the thread's own kept) is
 * `untrusted`, the one policy under which codex retries a denied command unsandboxed: a profile costs codex its
 * sandboxed file lookups at every turn (docs/benchmarks.md, session 48). One that never asks (`asks: false`: a
 * warm run, approval `never`) gets none unless reads are confined.
 */
export function threadSettings(req: SessionRequest, config: Config, asks = true): ThreadSettings {
  const model = resolveModel(req.model, config.CODEX_MODEL)
  const sandbox = req.sandbox ?? config.CODEX_SANDBOX
  // in a container codex runs danger-full-access (placement.ts innerSandbox): the container confines it
  const contained = req.isolation === 'container'
  const approval: Pick<ThreadSettings, 'approvalPolicy' | 'ownApproval'> = req.approvalPolicy
    ? { approvalPolicy: req.approvalPolicy }
    : ownApprovalOf(req.agentApprovalPolicy)
  const guard = contained || !asks ? undefined : sessionProfile(config, sandbox)
  const permissions = contained
    ? undefined
    : (confinedProfile(config, sandbox) ??
      (retriesUnsandboxed(approval.approvalPolicy ?? approval.ownApproval) ? guard : undefined))
  return {
    cwd: req.cwd,
    ...(model ? { model } : {}),
    sandbox,
    ...(permissions ? { permissions } : guard ? { untrustedPermissions: guard } : {}),
    ...(escalationAllowed(sandbox, config.ALLOW_DANGER_FULL_ACCESS) ? { escalationAllowed: true } : {}),
    ...approval,
  }
}

/**
 * Whether codex runs a command the client accepted again without its sandbox, unasked, when the sandbox denied it,
 * under `policy` (codex 0.171 orchestrator.rs `wants_no_sandbox_approval`: `untrusted` only; a granular policy's
 * `sandbox_approval` is held off, held-sandbox.ts, wherever a profile could run).
 */
export function retriesUnsandboxed(policy: ApprovalPolicy | AskForApproval | undefined): boolean {
  return policy === 'untrusted'
}

/** The thread's own policy kept in the session, when it is one codex takes. */
function ownApprovalOf(kept: AgentApprovalPolicy | undefined): { ownApproval?: AskForApproval } {
  if (kept === undefined) return {}
  if (typeof kept === 'string') return { ownApproval: askForApproval(kept) }
  const granular = askForApprovalWire.safeParse(kept)
  return granular.success ? { ownApproval: granular.data as AskForApproval } : {}
}

/** The params `thread/start`, `thread/resume` and `thread/fork` share. */
export function threadParams(s: ThreadSettings): {
  cwd: string
  model?: string
  sandbox?: SandboxMode
  /** A permission profile's id (experimental API); codex refuses it together with `sandbox`. */
  permissions?: string
  approvalPolicy?: AskForApproval
} {
  return {
    cwd: s.cwd,
    ...(s.model ? { model: s.model } : {}),
    ...(s.permissions ? { permissions: s.permissions } : { sandbox: s.sandbox }),
    ...(s.approvalPolicy
      ? { approvalPolicy: heldApproval(askForApproval(s.approvalPolicy), s.escalationAllowed === true) }
      : s.ownApproval
        ? { approvalPolicy: heldApproval(s.ownApproval, s.escalationAllowed === true) }
        : {}),
  }
}

/** codex 0.169 no longer accepts `on-failure` (it asks the model to request escalation instead: `on-request`). */
export function askForApproval(policy: ApprovalPolicy): Exclude<ApprovalPolicy, 'on-failure'> {
  return policy === 'on-failure' ? 'on-request' : policy
}

/** A turn's input as app-server's `turn/start` (and `turn/steer`) take it: images as its `localImage`, `image` items. */
export function userInput(input: TurnInput): UserInput[] {
  return input.map((part) =>
    part.type === 'localImage'
      ? { type: 'localImage', path: part.path }
      : part.type === 'image'
        ? { type: 'image', url: part.url }
        : { type: 'text', text: part.text, text_elements: [] },
  )
}
