import { z } from 'zod'
import { int, optionalString, setting } from '../../config/setting-kinds.js'

/** The acp driver's settings (environment variables), each with its documentation. */
export const acpSettings = z.object({
  ACP_AGENTS: setting(
    '(presets only)',
    'More ACP agents, `name=command args,...` (driver `acp:<name>`); presets: codex-acp, claude-agent-acp.',
    optionalString,
  ),
  ACP_SESSIONS_PER_PROCESS: setting(
    '8',
    'Sessions one ACP agent process serves over its life (same agent and settings; not in containers); it ends with its last session. 1: a process per session.',
    int(8, 1),
  ),
})
