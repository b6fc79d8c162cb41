import type { z } from 'zod'
import type { Config } from '../config/load.js'
import type { ProcessRunner } from '../process/runner.js'
import type { AgentCapabilities, AgentDriver } from './driver.js'

/**
 * Everything the gateway knows about one driver, in one place: its id, what it can do, its settings (zod,
 * each documented: the README's settings table is generated from them) and how to make it. A driver is one
 * folder plus one line in src/agents/index.ts.
 */
export interface AgentDescriptor<S extends z.ZodObject = z.ZodObject> {
  /** The driver id (`codex`, `claude`, ...); a descriptor may make more drivers (codex-exec, acp:<name>). */
  readonly id: string
  readonly capabilities: AgentCapabilities
  /** The driver's settings (environment variables). */
  readonly settings: S
  /** The drivers this descriptor offers under these settings. */
  create(config: Config, serverEnv: NodeJS.ProcessEnv, runner: ProcessRunner): AgentDriver[]
}
