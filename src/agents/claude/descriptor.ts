import type { AgentDescriptor } from '../descriptor.js'
import { ClaudeDriver, claudeCapabilities } from './driver.js'
import { claudeSettings } from './settings.js'

/** Claude Code (`claude -p --output-format stream-json`). */
export const claudeAgent: AgentDescriptor<typeof claudeSettings> = {
  id: 'claude',
  capabilities: claudeCapabilities,
  settings: claudeSettings,
  create: (config, env, runner) => [new ClaudeDriver(config, env, runner)],
}
