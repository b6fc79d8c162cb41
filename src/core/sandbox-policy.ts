import type { Config } from '../config/load.js'
import { AppError } from '../protocol/errors.js'
import type { SandboxMode } from '../protocol/policies.js'

/**
 * One rule for `sandbox: "danger-full-access"` on every surface (/v1/runs, /v1/sessions, the seed routes):
 * a request may ask for it only when the operator consented with ALLOW_DANGER_FULL_ACCESS=true. An operator
 * who made it the default (CODEX_SANDBOX=danger-full-access) consented too, for requests that do not choose.
 */
export function checkSandbox(requested: SandboxMode | undefined, config: Config): void {
  if (requested !== 'danger-full-access' || config.ALLOW_DANGER_FULL_ACCESS) return
  throw new AppError(
    'forbidden_argument',
    'sandbox "danger-full-access" is refused: it lets the agent write anywhere and run anything. ' +
      'An operator can allow it with ALLOW_DANGER_FULL_ACCESS=true',
    { sandbox: requested },
  )
}

/**
 * The same rule for each turn (and fork) of a session: one created with `danger-full-access` (the operator allowed
 * it then) runs a turn only while ALLOW_DANGER_FULL_ACCESS still holds. An operator who withdrew it (a restart without it)
 * gets what every new request gets: no unsandboxed agent, whatever approval policy the turn or its session names.
 */
export function checkTurnSandbox(
  sessionId: string,
  sandbox: SandboxMode | null | undefined,
  config: Config,
): void {
  if (sandbox !== 'danger-full-access' || config.ALLOW_DANGER_FULL_ACCESS) return
  throw new AppError(
    'forbidden_argument',
    `session ${sessionId} runs with sandbox "danger-full-access", which this server no longer allows ` +
      '(ALLOW_DANGER_FULL_ACCESS is not true): its turns and forks are refused. Start a session with another sandbox, or ' +
      'an operator can allow it again with ALLOW_DANGER_FULL_ACCESS=true',
    { sessionId, sandbox },
  )
}
