import { readCliVersion } from './cli-version.js'
import type { AgentStatus } from './driver.js'

/** What a CLI driver knows about its credentials when it is probed. */
export interface CliCredentials {
  authenticated: boolean
  /** What to do when the binary is missing. */
  installHint: string
  /** What to do when credentials are missing. */
  authHint: string
}

/**
 * The probe of a CLI driver: installed means the binary exists AND answered `--version` (asked once, then
 * remembered); credentials are checked on every probe.
 */
export class CliProbe {
  private version: Promise<string | null> | undefined

  constructor(
    private readonly id: string,
    readonly binary: string | null,
    private readonly env: () => Record<string, string>,
  ) {}

  async status(credentials: CliCredentials): Promise<AgentStatus> {
    const binary = this.binary
    this.version ??= binary ? readCliVersion(binary, this.env()) : Promise.resolve(null)
    const version = await this.version
    const ready = binary !== null && version !== null
    return {
      id: this.id,
      installed: ready,
      version,
      authenticated: credentials.authenticated,
      hint: !ready ? credentials.installHint : credentials.authenticated ? null : credentials.authHint,
      binary,
    }
  }
}
