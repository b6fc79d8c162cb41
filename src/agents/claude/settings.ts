import { z } from 'zod'
import { bool, optionalString, setting } from '../../config/setting-kinds.js'

/** The claude driver's settings (environment variables), each with its documentation. */
export const claudeSettings = z.object({
  CLAUDE_PATH: setting(
    '(bundled)',
    'Path of the claude binary; default: the pinned @anthropic-ai/claude-code, else `claude` on PATH.',
    optionalString,
  ),
  ANTHROPIC_BASE_URL: setting(
    '(Anthropic API)',
    'Anthropic Messages endpoint Claude Code talks to (a proxy or gateway).',
    optionalString.pipe(z.url().optional()),
  ),
  ANTHROPIC_API_KEY: setting(
    '(none)',
    'Key Claude Code uses, never logged; claude gets it only where the key proxy is off (MODEL_KEY_PROXY) or in a container, else a token of the key proxy.',
    optionalString,
  ),
  CLAUDE_MODEL: setting('(claude default)', 'Model passed to claude (--model).', optionalString),
  CLAUDE_WORKSPACE_SETTINGS: setting(
    'false',
    "Let claude, acp:claude-agent-acp and claude on POST /run load the workspace's own Claude Code configuration (CLAUDE.md, `.claude/settings.json`, `settings.local.json`, `.mcp.json`). Off: only the user's settings and no MCP server, since a workspace's hooks, `env`, allow rules and MCP servers run commands outside the run's sandbox and permission mode, and agents and repositories write workspaces (/run: the gateway adds `--setting-sources user --strict-mcp-config`, and a request's own `--setting-sources` may only be `user`). Turn on only when every workspace is trusted.",
    bool(false),
  ),
  CLAUDE_WEBFETCH_PREFLIGHT: setting(
    'false',
    "Let Claude Code's WebFetch ask api.anthropic.com about each domain before fetching it (Anthropic's blocklist check: it sends the domain to Anthropic, and without a way out to api.anthropic.com every fetch fails). Off: claude, acp:claude-agent-acp and claude on POST /run get `skipWebFetchPreflight` in their flag settings (`--settings`, over the user's), and WebFetch goes to the site alone.",
    bool(false),
  ),
})
