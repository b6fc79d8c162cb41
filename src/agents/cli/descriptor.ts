import { z } from 'zod'
import type { AgentDescriptor } from '../descriptor.js'
import { CliDriver, cliCapabilities } from './driver.js'

/** Its settings (CLI_LIST, RUN_ALLOW_*) are the server's: POST /run shares them. */
const cliSettings = z.object({})

/** Raw allowlisted CLIs (POST /run): stdout/stderr/exit. */
export const cliAgent: AgentDescriptor<typeof cliSettings> = {
  id: 'cli',
  capabilities: cliCapabilities,
  settings: cliSettings,
  create: (config, env, runner) => [new CliDriver(config, env, runner)],
}
