import type { Config } from '../config/load.js'
import { localRunner } from '../process/local-runner.js'
import type { ProcessRunner } from '../process/runner.js'
import { AppError } from '../protocol/errors.js'
import type { CliDriver } from './cli/driver.js'
import type { AgentDriver } from './driver.js'
import { agentDescriptors } from './index.js'

/** The drivers this server offers, by id (plus optional aliases). */
export class AgentRegistry {
  private readonly drivers = new Map<string, AgentDriver>()
  private readonly aliases = new Map<string, string>()

  constructor(
    drivers: AgentDriver[],
    aliases: Record<string, string> = {},
    /** Where the drivers run their agents; the core reclaims a crashed predecessor's leftovers through it. */
    readonly runner: ProcessRunner = localRunner,
  ) {
    for (const d of drivers) this.drivers.set(d.id, d)
    for (const [alias, id] of Object.entries(aliases)) this.aliases.set(alias, id)
  }

  /** Every driver this build knows, filtered by AGENTS (`codex` and `cli` are always on). */
  static fromConfig(
    config: Config,
    serverEnv: NodeJS.ProcessEnv,
    runner: ProcessRunner = localRunner,
  ): AgentRegistry {
    const all = agentDescriptors.flatMap((d) => d.create(config, serverEnv, runner))
    const enabled = new Set(config.AGENTS ?? all.map((d) => d.id))
    const on = all.filter((d) => enabled.has(d.id) || d.id === 'codex' || d.id === 'cli')
    return new AgentRegistry(on, {}, runner)
  }

  list(): AgentDriver[] {
    return [...this.drivers.values()]
  }

  find(id: string): AgentDriver | undefined {
    return this.drivers.get(this.aliases.get(id) ?? id)
  }

  get(id: string): AgentDriver {
    const driver = this.find(id)
    if (!driver)
      throw new AppError(
        'unknown_agent',
        `unknown agent "${id}"; available: ${[...this.drivers.keys()].join(', ')}`,
      )
    return driver
  }

  /** Ends what drivers keep running between requests (codex app-server). */
  async closeAll(): Promise<void> {
    for (const d of this.drivers.values()) await d.close?.().catch(() => {})
  }

  cli(): CliDriver {
    return this.get('cli') as CliDriver
  }
}
