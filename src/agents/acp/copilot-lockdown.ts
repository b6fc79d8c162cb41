import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import type { Config } from '../../config/load.js'
import { writeIfChanged } from '../../util/write-if-changed.js'
import { findOnPath } from '../cli-binary.js'
import { resolveCodexBinary } from '../codex-binary.js'

/**
 * `copilot --acp` (1.0.102) runs a workspace's repository hooks (`.github/hooks/*.json` of the cwd's git root) at
 * `session/new`, the prompt and each tool call: its ACP sessions load them without the folder-trust check that
 * `copilot -p` makes, and neither a flag, an environment variable nor its user settings (`disableAllHooks`) turn
 * them off. What does is its enterprise customization lockdown: a managed setting `strictPluginOnlyCustomization`
 * naming `hooks` ("Skipping repo/workspace hooks: blocked by enterprise customization lockdown" in its log), which
 * copilot reads from the device file `/etc/github-copilot/managed-settings.json` (its server and policy-helper
 * channels need a GitHub sign-in or are not applied to ACP sessions). So the gateway starts copilot in a mount
 * namespace (bubblewrap, as codex's sandbox) whose `/etc` is the host's with that one file replaced by the
 * gateway's: the host's own managed settings (if any) with `hooks` added to the lockdown. Nothing else of the host
 * changes, and every session of the process is covered, whatever its cwd, git root or symlinks. It also keeps
 * the hooks of the gateway's COPILOT_HOME (`hooks/`) from loading: the lockdown covers user hooks too.
 */
export const copilotManagedSettingsPath = '/etc/github-copilot/managed-settings.json'

/** The host's managed settings with `hooks` locked (a `true` lockdown already locks every surface). */
export function lockedManagedSettings(host: string | undefined): Record<string, unknown> {
  let settings: Record<string, unknown> = {}
  if (host !== undefined) {
    try {
      const parsed: unknown = JSON.parse(host)
      // copilot ignores a file that is not a JSON object; so does the gateway
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
        settings = parsed as Record<string, unknown>
    } catch {
      settings = {}
    }
  }
  const lock = settings.strictPluginOnlyCustomization
  const locked =
    lock === true
      ? true
      : Array.isArray(lock)
        ? [...new Set([...lock.filter((s) => typeof s === 'string'), 'hooks'])]
        : ['hooks']
  return { ...settings, strictPluginOnlyCustomization: locked }
}

/** Writes the locked settings under DATA_DIR/copilot (rewritten when they differ) and returns the file's path. */
export function lockedManagedSettingsFile(config: Config, hostFile = copilotManagedSettingsPath): string {
  let host: string | undefined
  try {
    host = readFileSync(hostFile, 'utf8')
  } catch {
    host = undefined
  }
  const text = `${JSON.stringify(lockedManagedSettings(host), null, 2)}\n`
  const file = path.join(config.DATA_DIR, 'copilot', 'managed-settings.json')
  writeIfChanged(file, text, 0o644)
  return file
}

/** bubblewrap: the one the pinned codex bundles (codex-resources/), else `bwrap` on PATH, else the bare name. */
export function bubblewrapBinary(): string {
  const codex = resolveCodexBinary()
  const bundled = codex ? path.join(path.dirname(path.dirname(codex)), 'codex-resources', 'bwrap') : null
  if (bundled && existsSync(bundled)) return bundled
  // not found: spawning `bwrap` fails, and with it the launch (copilot never starts unlocked)
  return findOnPath('bwrap') ?? 'bwrap'
}

/**
 * The command that starts `program args` with the hooks lockdown: bubblewrap with the whole file system as it is
 * (`--dev-bind / /`), `/etc` as a throwaway overlay of itself (nothing is written to the host's `/etc`), and the
 * locked settings bound read-only at copilot's device path. bubblewrap stays copilot's parent (same process
 * group, stdio and environment); `--die-with-parent` ends copilot if bubblewrap is killed.
 */
export function withHooksLockdown(
  config: Config,
  program: string,
  args: string[],
): { command: string; args: string[] } {
  return {
    command: bubblewrapBinary(),
    args: [
      '--dev-bind',
      '/',
      '/',
      '--overlay-src',
      '/etc',
      '--tmp-overlay',
      '/etc',
      '--ro-bind',
      lockedManagedSettingsFile(config),
      copilotManagedSettingsPath,
      '--die-with-parent',
      '--',
      program,
      ...args,
    ],
  }
}
