import path from 'node:path'
import type { Config } from '../../config/load.js'
import type { Mount } from '../../process/runner.js'
import { secretNamesIn } from '../../process/secrets.js'
import { writeIfChanged } from '../../util/write-if-changed.js'

/**
 * Claude Code runs each Bash command with its own environment, which holds the provider key. Its
 * CLAUDE_CODE_SHELL_PREFIX names a program that gets the whole command line as its argument: the gateway's
 * prefix unsets every secret name (listed in AGW_SCRUB_ENV) and then runs the command with bash, so `env`
 * inside a command shows none of them. (CLAUDE_CODE_SUBPROCESS_ENV_SCRUB needs bubblewrap; this does not.)
 */
const script = `#!/bin/sh
# Written by agent-gateway: runs a Claude Code command without the gateway's secrets in its environment.
for name in $AGW_SCRUB_ENV; do unset "$name"; done
unset AGW_SCRUB_ENV
exec bash -c "$@"
`

/** Writes the prefix program under DATA_DIR/bin (once; rewritten when it differs) and returns its path. */
export function scrubbedShellPath(config: Config): string {
  const file = path.join(config.DATA_DIR, 'bin', 'agw-scrubbed-shell')
  // renamed over the old one: a command that starts it meanwhile reads the old or the new script, never half of one
  writeIfChanged(file, script, 0o755)
  return file
}

/**
 * The variables that make Claude Code's commands start without the secrets found in `env`, and without `more`
 * (names Claude Code's own env gets later, as claude-agent-acp's gateway authentication sets).
 */
export function scrubbedShellEnv(
  config: Config,
  env: Record<string, string>,
  more: readonly string[] = [],
): Record<string, string> {
  const names = [...new Set([...secretNamesIn(env), ...more])]
  if (names.length === 0) return {}
  return { CLAUDE_CODE_SHELL_PREFIX: scrubbedShellPath(config), AGW_SCRUB_ENV: names.join(' ') }
}

/** In a container the prefix program is mounted read-only at its own path (when `env` uses one). */
export function scrubbedShellMount(env: Record<string, string>): Mount | undefined {
  const prefix = env.CLAUDE_CODE_SHELL_PREFIX
  return prefix ? { path: path.dirname(prefix), writable: false } : undefined
}
