import type { SandboxMode } from '../../protocol/policies.js'
import type { SessionHooks } from '../session.js'
import { insideCwd } from './fs-access.js'

/**
 * One-shot runs have nobody to ask, so the run's sandbox answers: read-only declines everything,
 * workspace-write accepts what happens inside the run's cwd (commands run there, files changed there),
 * danger-full-access accepts everything. The agent's own sandbox (codex-acp's sandbox_mode) still applies.
 */
export function oneShotApprovals(sandbox: SandboxMode | undefined, cwd: string): SessionHooks {
  // after symlinks: a link in the cwd to a file outside it is outside
  const inside = (p: string) => insideCwd(cwd, p)
  return {
    requestApproval: async (ask) => {
      if (sandbox === 'danger-full-access') return 'accept'
      if (sandbox !== 'workspace-write') return 'decline'
      const paths = [...(ask.cwd ? [ask.cwd] : []), ...(ask.changes ?? []).map((c) => c.path)]
      return ask.kind !== 'permission' && paths.length > 0 && paths.every(inside) ? 'accept' : 'decline'
    },
  }
}
