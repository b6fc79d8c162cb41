import { stat } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { Config } from '../../config/load.js'

/** The system layers codex reads on Unix (managed_config.toml and requirements.toml are the admin's). */
const systemFiles = [
  '/etc/codex/config.toml',
  '/etc/codex/managed_config.toml',
  '/etc/codex/requirements.toml',
]

/**
 * What decides codex's effective config as seen from `cwd`, as one string that changes when a file changes:
 * the user's `<CODEX_HOME>/config.toml` (its `[projects]` trust included), the system files, and for `cwd` and
 * each parent the project layer `.codex/config.toml` and whether a `.git` is there (the nearest one is the
 * project root: codex reads every `.codex/` from it down to `cwd`). A file is known by inode, size, mtime and
 * ctime in nanoseconds, so an in-place rewrite of the same size is missed only within one clock tick of the
 * filesystem's timestamps (see docs/SECURITY.md).
 */
export async function configFilesSignature(codexHome: string, cwd: string): Promise<string> {
  const files = [path.join(codexHome, 'config.toml'), ...systemFiles]
  const markers: string[] = []
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    files.push(path.join(dir, '.codex', 'config.toml'))
    markers.push(path.join(dir, '.git'))
    if (path.dirname(dir) === dir) break
  }
  const [fileStates, markerStates] = await Promise.all([
    Promise.all(files.map(fileState)),
    Promise.all(markers.map(presence)),
  ])
  return [...fileStates, ...markerStates].join('|')
}

async function fileState(file: string): Promise<string> {
  try {
    const s = await stat(file, { bigint: true })
    return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`
  } catch {
    return '-'
  }
}

/** Whether `file` exists (a `.git` directory's own times change with every git command: not read). */
async function presence(file: string): Promise<string> {
  try {
    await stat(file)
    return '+'
  } catch {
    return '-'
  }
}

/** The CODEX_HOME a codex the gateway starts reads: the setting, else `~/.codex` of the HOME it is given. */
export function codexHomeOf(config: Config, serverEnv: NodeJS.ProcessEnv = process.env): string {
  return config.CODEX_HOME ?? path.join(serverEnv.HOME ?? os.homedir(), '.codex')
}
