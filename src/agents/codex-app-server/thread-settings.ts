import type { Config } from '../../config/load.js'
import { resolveModel } from '../../protocol/models.js'
import type { SandboxMode } from '../../protocol/policies.js'
import type { ApprovalPolicy, SessionRequest, TurnInput } from '../session.js'
import type { AskForApproval } from './generated/v2/AskForApproval.js'
import type { UserInput } from './generated/v2/UserInput.js'

/** What a codex thread is started (and resumed, and forked) with: a session's request, with defaults. */
export interface ThreadSettings {
  cwd: string
  /** The model the thread runs; set from codex's answer when the request named none. */
  model?: string
  sandbox: SandboxMode
  approvalPolicy?: ApprovalPolicy
}

/** The request's settings; model and sandbox default to CODEX_MODEL and CODEX_SANDBOX like `codex exec`. */
export function threadSettings(req: SessionRequest, config: Config): ThreadSettings {
  const model = resolveModel(req.model, config.CODEX_MODEL)
  return {
    cwd: req.cwd,
    ...(model ? { model } : {}),
    sandbox: req.sandbox ?? config.CODEX_SANDBOX,
    ...(req.approvalPolicy ? { approvalPolicy: req.approvalPolicy } : {}),
  }
}

/** The params `thread/start`, `thread/resume` and `thread/fork` share. */
export function threadParams(s: ThreadSettings): {
  cwd: string
  model?: string
  sandbox: SandboxMode
  approvalPolicy?: AskForApproval
} {
  return {
    cwd: s.cwd,
    ...(s.model ? { model: s.model } : {}),
    sandbox: s.sandbox,
    ...(s.approvalPolicy ? { approvalPolicy: askForApproval(s.approvalPolicy) } : {}),
  }
}

/** codex 0.169 no longer accepts `on-failure` (it asks the model to request escalation instead: `on-request`). */
export function askForApproval(policy: ApprovalPolicy): AskForApproval {
  return policy === 'on-failure' ? 'on-request' : policy
}

export function userInput(input: TurnInput): UserInput[] {
  return input.map((part) => ({ type: 'text', text: part.text, text_elements: [] }))
}
