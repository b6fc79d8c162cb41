import type { AgentDescriptor } from '../descriptor.js'
import { AcpDriver, acpCapabilities } from './driver.js'
import { acpSettings } from './settings.js'

/** Any Agent Client Protocol agent over stdio: one driver `acp:<name>` per preset or ACP_AGENTS entry. */
export const acpAgent: AgentDescriptor<typeof acpSettings> = {
  id: 'acp',
  // a custom agent's; the presets take images too (acpPresetCapabilities)
  capabilities: acpCapabilities,
  settings: acpSettings,
  create: (config, env, runner) => AcpDriver.all(config, env, runner),
}
