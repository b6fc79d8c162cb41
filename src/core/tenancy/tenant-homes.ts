import { copyFileSync, existsSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import type { Config } from '../../config/load.js'

/** Where one tenant's agents work and keep their state. */
export interface TenantLayout {
  /** The tenant's only workspace root: `<TENANTS_DIR>/<tenant>/workspace`. */
  workspace: string
  /** HOME of its agent processes: `<TENANTS_DIR>/<tenant>/home`; the agents' own homes are inside. */
  home: string
  codexHome: string
  /** The settings the tenant's agents and managers see: its workspace root, its CODEX_HOME. */
  config: Config
  /** The server environment its drivers read: HOME and the other agents' homes point into `home`. */
  serverEnv: NodeJS.ProcessEnv
}

/** What a tenant's fresh CODEX_HOME starts with from the server's: its settings and login, never its threads. */
const codexSeedFiles = ['config.toml', 'auth.json']

/**
 * Creates (once) and describes a tenant's directories. codex's app-server serves one CODEX_HOME, so every tenant
 * gets its own, and with it its own app-server process; Claude Code, Gemini CLI and Copilot CLI get their homes
 * (CLAUDE_CONFIG_DIR, GEMINI_CLI_HOME, COPILOT_HOME, XDG_*) there as well; caches (COPILOT_PKG_CACHE_HOME,
 * XDG_CACHE_HOME) stay shared.
 */
export function tenantLayout(config: Config, serverEnv: NodeJS.ProcessEnv, tenant: string): TenantLayout {
  const base = path.join(config.tenantsDir, tenant)
  const workspace = path.join(base, 'workspace')
  const home = path.join(base, 'home')
  const codexHome = path.join(home, '.codex')
  for (const dir of [workspace, codexHome]) mkdirSync(dir, { recursive: true, mode: 0o700 })
  const serverCodexHome = config.CODEX_HOME ?? path.join(serverEnv.HOME ?? '', '.codex')
  for (const file of codexSeedFiles) {
    const from = path.join(serverCodexHome, file)
    const to = path.join(codexHome, file)
    if (existsSync(from) && !existsSync(to)) copyFileSync(from, to)
  }
  return {
    workspace,
    home,
    codexHome,
    config: { ...config, WORKSPACE_DIR: workspace, workspaceRoots: [workspace], CODEX_HOME: codexHome },
    serverEnv: {
      ...serverEnv,
      HOME: home,
      CLAUDE_CONFIG_DIR: path.join(home, '.claude'),
      GEMINI_CLI_HOME: home,
      COPILOT_HOME: path.join(home, '.copilot'),
      XDG_CONFIG_HOME: path.join(home, '.config'),
      XDG_DATA_HOME: path.join(home, '.local', 'share'),
      XDG_STATE_HOME: path.join(home, '.local', 'state'),
    },
  }
}
