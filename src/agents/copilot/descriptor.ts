import type { AgentDescriptor } from '../descriptor.js'
import { CopilotDriver, copilotCapabilities } from './driver.js'
import { copilotSettings } from './settings.js'

/** GitHub Copilot CLI (`copilot -p --output-format json`). */
export const copilotAgent: AgentDescriptor<typeof copilotSettings> = {
  id: 'copilot',
  capabilities: copilotCapabilities,
  settings: copilotSettings,
  create: (config, env, runner) => [new CopilotDriver(config, env, { runner })],
}
