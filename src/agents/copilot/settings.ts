import { z } from 'zod'
import { bool, optionalString, setting } from '../../config/setting-kinds.js'

/** The copilot driver's settings (environment variables), each with its documentation. */
export const copilotSettings = z.object({
  COPILOT_PATH: setting(
    '(bundled)',
    'Path of the copilot binary; default: the pinned native @github/copilot, else `copilot` on PATH.',
    optionalString,
  ),
  COPILOT_PROVIDER_BASE_URL: setting(
    '(GitHub Copilot)',
    'OpenAI-compatible endpoint (Chat Completions) for copilot (BYOK); copilot then runs offline.',
    optionalString.pipe(z.url().optional()),
  ),
  COPILOT_PROVIDER_API_KEY: setting(
    '(none)',
    'Key for that endpoint, never logged; copilot gets it only where the key proxy is off (MODEL_KEY_PROXY) or in a container, else a token of the key proxy.',
    optionalString,
  ),
  COPILOT_MODEL: setting(
    '(copilot default)',
    'Model for copilot (its COPILOT_MODEL env; requests may pass --model); BYOK needs one.',
    optionalString,
  ),
  COPILOT_WORKSPACE_SETTINGS: setting(
    'false',
    "Let acp:copilot load the workspace's repository hooks (`.github/hooks/*.json`). Off: `copilot --acp` runs in a mount namespace (bubblewrap) whose `/etc/github-copilot/managed-settings.json` locks hooks (`strictPluginOnlyCustomization`), since copilot's ACP sessions run a workspace's hooks at session start, prompt and tool use, outside the run's sandbox, and agents and repositories write workspaces (the hooks of COPILOT_HOME are locked too; `copilot -p` loads a workspace's hooks only in folders it trusts). Turn on only when every workspace is trusted.",
    bool(false),
  ),
})
