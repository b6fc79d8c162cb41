import type { AgentStatus } from './driver.js'

/** The status a CLI driver reports: installed means the binary exists AND answered `--version`. */
export function cliStatus(opts: {
  id: string
  binary: string | null
  version: string | null
  authenticated: boolean
  installHint: string
  authHint: string
}): AgentStatus {
  const ready = opts.binary !== null && opts.version !== null
  return {
    id: opts.id,
    installed: ready,
    version: opts.version,
    authenticated: opts.authenticated,
    hint: !ready ? opts.installHint : opts.authenticated ? null : opts.authHint,
    binary: opts.binary,
  }
}
