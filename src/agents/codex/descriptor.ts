import type { AgentDescriptor } from '../descriptor.js'
import { CodexDriver, codexCapabilities } from './driver.js'
import { codexSettings } from './settings.js'

/** Codex app-server for sessions, `codex exec` for one-shot runs (also offered as `codex-exec`). */
export const codexAgent: AgentDescriptor<typeof codexSettings> = {
  id: 'codex',
  capabilities: codexCapabilities,
  settings: codexSettings,
  create: (config, env, runner) => {
    const codex = new CodexDriver(config, env, { runner })
    return [codex, codex.exec]
  },
}
