import type { AgentDescriptor } from '../descriptor.js'
import { GeminiDriver, geminiCapabilities } from './driver.js'
import { geminiSettings } from './settings.js'

/** Gemini CLI (`gemini -p -o stream-json`). */
export const geminiAgent: AgentDescriptor<typeof geminiSettings> = {
  id: 'gemini',
  capabilities: geminiCapabilities,
  settings: geminiSettings,
  create: (config, env, runner) => [new GeminiDriver(config, env, runner)],
}
