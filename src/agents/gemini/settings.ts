import { z } from 'zod'
import { bool, optionalString, setting } from '../../config/setting-kinds.js'

/** The gemini driver's settings (environment variables), each with its documentation. */
export const geminiSettings = z.object({
  GEMINI_PATH: setting(
    '(bundled)',
    'Path of the gemini binary; default: the pinned @google/gemini-cli, else `gemini` on PATH.',
    optionalString,
  ),
  GOOGLE_GEMINI_BASE_URL: setting(
    '(Gemini API)',
    'Gemini API endpoint Gemini CLI talks to (a proxy or gateway).',
    optionalString.pipe(z.url().optional()),
  ),
  GEMINI_API_KEY: setting(
    '(none)',
    'Key Gemini CLI uses, never logged; gemini gets it only where the key proxy is off (MODEL_KEY_PROXY) or in a container, else a token of the key proxy.',
    optionalString,
  ),
  GEMINI_MODEL: setting('(gemini default)', 'Model passed to gemini (-m).', optionalString),
  GEMINI_WORKSPACE_SETTINGS: setting(
    'false',
    "Let gemini, acp:gemini and gemini on POST /run trust the workspace: load its own Gemini CLI settings (`.gemini/settings.json`) and environment file (`.gemini/.env`) and start its MCP servers. Off: only the system and user settings, no MCP server and no environment file of the workspace, since a workspace's hooks, tool discovery command and MCP servers run commands outside the run's sandbox, its `.env` sets gemini's variables, and agents and repositories write workspaces (/run: the gateway adds `--skip-trust --allowed-mcp-server-names` naming no server and sets `GEMINI_CLI_TRUST_WORKSPACE` itself, over a request's own). Turn on only when every workspace is trusted.",
    bool(false),
  ),
})
