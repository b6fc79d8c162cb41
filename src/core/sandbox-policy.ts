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
