import type { Config } from '../../config/load.js'
import { codexValueOptions } from '../../process/codex-grammar.js'
import { sandboxMode } from '../../protocol/policies.js'
import { codexOverride } from './config-override.js'
import { confinedProfile } from './read-profiles.js'

const valueOptions = codexValueOptions()

/**
 * A codex command line as the `cli` driver runs it (POST /run, seed 002's `codex exec --json`) with its sandbox
 * confining reads (read-profiles.ts): each `--sandbox`/`-s` of read-only or workspace-write becomes
 * `-c default_permissions="<that profile>"` (a `--sandbox` would win over any profile); without one, the
 * read-only profile readProfileOverrides selects by default applies (codex's own default sandbox, confined to
 * the cwd). danger-full-access stays as given.
 * Values of other options are skipped as codex's grammar reads them (`-m -s` names a model).
 */
export function confinedCodexArgs(
  config: Pick<Config, 'CODEX_CONFINE_READS'>,
  args: readonly string[],
): string[] {
  if (!config.CODEX_CONFINE_READS) return [...args]
  const out: string[] = []
  const select = (value: string | undefined, given: string[]) => {
    const mode = sandboxMode.safeParse(value)
    const profile = mode.success ? confinedProfile(config, mode.data) : undefined
    out.push(...(profile ? codexOverride('default_permissions', profile) : given))
  }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '--') {
      out.push(...args.slice(i))
      break
    }
    if (arg === '--sandbox' || arg === '-s') {
      select(args[i + 1], args.slice(i, i + 2))
      i++
    } else if (arg.startsWith('--sandbox=')) select(arg.slice('--sandbox='.length), [arg])
    else if (arg.startsWith('-s') && !arg.startsWith('--')) select(arg.slice(2).replace(/^=/, ''), [arg])
    else if (valueOptions.long.has(arg) || valueOptions.short.has(arg)) {
      out.push(...args.slice(i, i + 2))
      i++
    } else out.push(arg)
  }
  return out
}
