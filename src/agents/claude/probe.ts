import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import type { Config } from '../../config/load.js'
import { readText } from '../../process/lines.js'
import { spawnGroup } from '../../process/spawn-group.js'
import { findOnPath } from '../codex-binary.js'

/** CLAUDE_PATH, else the pinned @anthropic-ai/claude-code (a native binary), else `claude` on PATH. */
export function resolveClaudeBinary(override?: string): string | null {
  if (override) return existsSync(override) ? path.resolve(override) : null
  try {
    const pkgJson = createRequire(import.meta.url).resolve('@anthropic-ai/claude-code/package.json')
    const bin = path.join(path.dirname(pkgJson), 'bin', 'claude.exe')
    if (existsSync(bin)) return bin
  } catch {
    // not installed: fall through to PATH
  }
  return findOnPath('claude')
}

/** Runs `claude --version` (bounded); "2.1.330 (Claude Code)" gives "2.1.330"; null when it cannot run. */
export async function readClaudeVersion(binary: string, env: Record<string, string>): Promise<string | null> {
  const proc = spawnGroup({
    command: binary,
    args: ['--version'],
    cwd: os.tmpdir(),
    env,
    timeoutMs: 10_000,
    killGraceMs: 500,
  })
  let out = ''
  const reading = (async () => {
    for await (const t of readText(proc.stdout)) out += t
  })()
  proc.stderr.resume()
  const outcome = await proc.done
  await reading.catch(() => {})
  if (outcome.exitCode !== 0) return null
  return /\d+\.\d+[\w.-]*/.exec(out)?.[0] ?? null
}

/** A key in the settings or the server env, or a login stored by `claude` (CLAUDE_CONFIG_DIR or ~/.claude). */
export function claudeHasCredentials(config: Config, serverEnv: NodeJS.ProcessEnv): boolean {
  if (config.ANTHROPIC_API_KEY || serverEnv.ANTHROPIC_AUTH_TOKEN || serverEnv.CLAUDE_CODE_OAUTH_TOKEN)
    return true
  const dir = serverEnv.CLAUDE_CONFIG_DIR ?? path.join(serverEnv.HOME ?? os.homedir(), '.claude')
  return existsSync(path.join(dir, '.credentials.json'))
}

export const claudeAuthHint =
  'claude has no credentials: set ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL for a proxy or gateway), ' +
  'or run `claude login` for the HOME the gateway uses'
export const claudeInstallHint =
  'claude is not installed: run `npm ci` (the pinned @anthropic-ai/claude-code dependency) or set CLAUDE_PATH'
