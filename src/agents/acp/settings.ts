import { z } from 'zod'
import { bool, int, maxTimerMs, optionalString, setting } from '../../config/setting-kinds.js'

/** The acp driver's settings (environment variables), each with its documentation. */
export const acpSettings = z.object({
  ACP_AGENTS: setting(
    '(presets only)',
    "More ACP agents, `name=command args,...` (driver `acp:<name>`); presets: codex-acp, claude-agent-acp, gemini (`gemini --acp`); `copilot` (`copilot --acp`, its workspace hooks locked: COPILOT_WORKSPACE_SETTINGS) only when named here (docs/SECURITY.md); a preset's name replaces its command and keeps its wiring.",
    optionalString,
  ),
  ACP_SESSIONS_PER_PROCESS: setting(
    '8',
    'Sessions one ACP agent process serves at a time (same agent and settings; workspace-write sessions only with sessions of the same cwd; not in containers); it ends with its last session. 1: a process per session.',
    int(8, 1),
  ),
  ACP_WARM_RUNS: setting(
    'true',
    'One-shot ACP runs are sessions on an agent process kept ready (5 min after its last run; needs ACP_SESSIONS_PER_PROCESS > 1; not in containers); false: a process per run.',
    bool(true),
  ),
  ACP_TOOL_SETTLE_MS: setting(
    '10000',
    "How long an ACP agent's answered prompt waits for the last updates of its tool calls still open (codex-acp may answer before them, seconds before on a loaded machine); the turn then ends, a tool call still open failed.",
    int(10_000, 0, maxTimerMs),
  ),
})
