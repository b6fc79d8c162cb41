import { z } from 'zod'
import { optionalString, setting } from '../../config/setting-kinds.js'

/** The acp driver's settings (environment variables), each with its documentation. */
export const acpSettings = z.object({
  ACP_AGENTS: setting(
    '(presets only)',
    'More ACP agents, `name=command args,...` (driver `acp:<name>`); presets: codex-acp, claude-agent-acp.',
    optionalString,
  ),
})
