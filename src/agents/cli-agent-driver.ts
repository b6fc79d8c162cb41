import type { Config } from '../config/load.js'
import { localRunner } from '../process/local-runner.js'
import type { ProcessRunner } from '../process/runner.js'
import { CliVersionCache, packageVersionOf, readCliVersion } from './cli-version.js'
import type { AgentCapabilities, AgentStatus } from './driver.js'

/** What a CLI driver knows about its credentials when it is probed. */
export interface CliCredentials {
  authenticated: boolean
  /** What to do when the binary is missing. */
  installHint: string
  /** What to do when credentials are missing. */
  authHint: string
}

/**
 * What every driver of one CLI binary shares (codex-exec, claude, gemini, copilot): its settings, its binary,
 * and the probe: installed means the binary exists AND has a version: that of its pinned npm package when it is
 * one (pinnedPackages), else what it answered to `--version` (asked once and remembered; a failed read is asked
 * again later, see CliVersionCache); credentials are checked on every probe.
 */
export abstract class CliAgentDriver {
  abstract readonly id: string
  abstract readonly capabilities: AgentCapabilities
  private readonly version = new CliVersionCache(async () => {
    if (!this.binary) return null
    return (
      packageVersionOf(this.binary, this.pinnedPackages) ??
      readCliVersion(this.runner, this.binary, this.childEnv())
    )
  })

  /**
   * The npm packages this CLI ships in: a binary inside one of them gets its version from that package's
   * package.json instead of from `--version` (see packageVersionOf). Empty: always ask the binary.
   */
  protected readonly pinnedPackages: readonly string[] = []

  /** The CLI's path; null when it is not installed. */
  readonly binary: string | null

  constructor(
    protected readonly config: Config,
    protected readonly serverEnv: NodeJS.ProcessEnv = process.env,
    protected readonly runner: ProcessRunner = localRunner,
  ) {
    this.binary = this.findBinary(config)
  }

  /** Where the CLI is (its configured path, else the pinned package's, else PATH); called once, from the constructor. */
  protected abstract findBinary(config: Config): string | null

  /** The child's environment (allowlisted server env plus the agent's endpoint and key). */
  abstract childEnv(): Record<string, string>
  protected abstract credentials(): CliCredentials

  async probe(): Promise<AgentStatus> {
    const binary = this.binary
    const version = await this.version.get()
    const ready = binary !== null && version !== null
    const credentials = this.credentials()
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
