import { acpAgent } from './acp/descriptor.js'
import { claudeAgent } from './claude/descriptor.js'
import { cliAgent } from './cli/descriptor.js'
import { codexAgent } from './codex/descriptor.js'
import { copilotAgent } from './copilot/descriptor.js'
import { geminiAgent } from './gemini/descriptor.js'

/**
 * The drivers this build offers: one line per driver (its descriptor, from its folder). The registry, the
 * settings (src/config/schema.ts), /v1/agents and the README's tables follow this order.
 */
export const agentDescriptors = [
  codexAgent,
  claudeAgent,
  geminiAgent,
  copilotAgent,
  acpAgent,
  cliAgent,
] as const
