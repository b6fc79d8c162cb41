import { realpathSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import type { Config } from '../../config/load.js'
import type { SandboxMode } from '../../protocol/policies.js'
import { nativeCodexBinary, resolveCodexBinary } from '../codex-binary.js'
import { codexOverride } from './config-override.js'

/**
 * codex's `read-only` and `workspace-write` sandboxes (`--sandbox`, thread/start `sandbox`) confine writes, not
 * reads: on Linux their bubblewrap binds `/` read-only, so a command read the server's `.env`, DATA_DIR and other
 * tenants' workspaces. codex 0.169's permission profiles can restrict reads (`[permissions.<id>.filesystem]`):
 * bubblewrap starts from an empty tmpfs and binds only what the profile lists. The gateway defines two profiles,
 * one per confined sandbox, and selects one instead of the sandbox mode (a `--sandbox` wins over any profile, so
 * it is not passed then):
 * - `:minimal` (codex's system set on Linux: /bin, /sbin, /usr, /etc, /lib, /lib64, /nix/store,
 *   /run/current-system/sw) read, so shells and tools start;
 * - `:workspace_roots` (the run's or thread's cwd) read, or written for workspace-write;
 * - codex's own binaries read: codex runs itself again inside bubblewrap to apply seccomp, and fails every
 *   command (`bwrap: execvp ... No such file or directory`) when it cannot: the pinned package's directory holds
 *   only codex's binaries (codex, rg, bwrap), never the gateway's files.
 * - one path denied (`none`, `deniedReadPath`, which does not exist): codex never runs a command of a profile
 *   with a denied read outside its sandbox, since the sandbox is what enforces the denial; so a command the
 *   client accepted under `untrusted` that the sandbox denies is not retried unsandboxed (codex's "retry without
 *   sandbox" on a denial, unasked: seen with codex-acp's codex, which then wrote outside the workspace); it does
 *   not keep a call the model asked to run unsandboxed (`require_escalated`) in the sandbox (codex 0.171).
 * No network (a profile's default). `/tmp` and `$TMPDIR` are not the host's: writes there stay in the sandbox's
 * own tmpfs, as the `exclude_*tmp*` overrides intend. danger-full-access stays unconfined: that is its meaning.
 */
/** The path the profiles deny reading: there to make a profile deny a read (see above), it names nothing. */
export const deniedReadPath = '/nonexistent/agent-gateway-denied-read'

export const readProfileIds = {
  'read-only': 'agent-gateway-read-only',
  'workspace-write': 'agent-gateway-workspace-write',
} as const satisfies Partial<Record<SandboxMode, string>>

/**
 * The profile a run or thread in `mode` selects (thread/start `permissions`, `default_permissions`) instead of
 * codex's sandbox mode; undefined when reads are not confined (danger-full-access, CODEX_CONFINE_READS=false).
 */
export function confinedProfile(
  config: Pick<Config, 'CODEX_CONFINE_READS'>,
  mode: SandboxMode,
): string | undefined {
  return config.CODEX_CONFINE_READS && mode !== 'danger-full-access' ? readProfileIds[mode] : undefined
}

/**
 * What the profiles of sessions (codex-acp's, and the app-server's session threads) are: `confined` with
 * CODEX_CONFINE_READS (above); else `reads-all`,
 * unless the operator allows danger-full-access (ALLOW_DANGER_FULL_ACCESS: a command may then run unsandboxed,
 * held-sandbox.ts): the same sandbox as codex's `--sandbox` mode (`:root` read, `:workspace_roots` read or
 * written, no network) with the one denied read, so that a command the client accepted under `untrusted` and the
 * sandbox denied is not retried unasked without the sandbox (codex-acp's codex retries every `shell_command`
 * denial: it wrote outside the workspace; the app-server's codex 0.171 retries an `exec_command` denial when the
 * command ended within 150 ms of its start: it wrote too). It does not keep a `require_escalated` call in the
 * sandbox (codex 0.171 app-server, exec_command: accepted, it ran unsandboxed under either profile). Warm runs keep
 * `--sandbox` modes when reads are not confined: they never ask, and codex retries nothing under `never`.
 */
export function sessionProfiles(
  config: Pick<Config, 'CODEX_CONFINE_READS' | 'ALLOW_DANGER_FULL_ACCESS'>,
): 'confined' | 'reads-all' | undefined {
  return config.CODEX_CONFINE_READS ? 'confined' : config.ALLOW_DANGER_FULL_ACCESS ? undefined : 'reads-all'
}

/** The profile a codex-acp session in `mode` selects (sessionProfiles): none for danger-full-access, or without profiles. */
export function sessionProfile(
  config: Pick<Config, 'CODEX_CONFINE_READS' | 'ALLOW_DANGER_FULL_ACCESS'>,
  mode: SandboxMode,
): string | undefined {
  return sessionProfiles(config) && mode !== 'danger-full-access' ? readProfileIds[mode] : undefined
}

/** The `-c` overrides that define codex-acp's profiles (sessionProfiles) for a process running `binary`. */
export function sessionProfileOverrides(
  config: Pick<Config, 'CODEX_CONFINE_READS' | 'ALLOW_DANGER_FULL_ACCESS' | 'CODEX_PATH'>,
  binary: string | null = resolveCodexBinary(config.CODEX_PATH),
): string[] {
  const kind = sessionProfiles(config)
  if (kind === 'confined') return readProfileOverrides(config, binary)
  if (kind === undefined) return []
  const args = codexOverride('default_permissions', readProfileIds['read-only'])
  for (const [mode, id] of Object.entries(readProfileIds))
    args.push(
      ...codexOverride(`permissions.${id}.filesystem`, {
        ':root': 'read',
        ':workspace_roots': mode === 'workspace-write' ? 'write' : 'read',
        [deniedReadPath]: 'none',
      }),
    )
  return args
}

/**
 * `codex exec`'s sandbox arguments: the profile selected by `-c default_permissions` when reads are confined,
 * else `--sandbox <mode>`.
 */
export function codexSandboxArgs(config: Pick<Config, 'CODEX_CONFINE_READS'>, mode: SandboxMode): string[] {
  const profile = confinedProfile(config, mode)
  return profile ? codexOverride('default_permissions', profile) : ['--sandbox', mode]
}

/**
 * The `-c` overrides that define both profiles, for a codex process (exec, app-server, `cli`) whose binary is
 * `binary` (default: the one the gateway runs), and select the read-only one by default (codex refuses profiles
 * without a `default_permissions`; a later `-c default_permissions` or a thread's `permissions` chooses another, a
 * `--sandbox` or a thread's `sandbox` leaves profiles aside). None when confinement is off. Given before the
 * operator's CODEX_CONFIG_OVERRIDES, which may redefine them.
 */
export function readProfileOverrides(
  config: Pick<Config, 'CODEX_CONFINE_READS' | 'CODEX_PATH'>,
  binary: string | null = resolveCodexBinary(config.CODEX_PATH),
): string[] {
  if (!config.CODEX_CONFINE_READS) return []
  const own = binary ? (ownPaths.get(binary) ?? ownPaths.set(binary, codexOwnPath(binary)).get(binary)) : null
  const args = codexOverride('default_permissions', readProfileIds['read-only'])
  for (const [mode, id] of Object.entries(readProfileIds)) {
    args.push(
      ...codexOverride(`permissions.${id}.filesystem`, {
        ':minimal': 'read',
        ':workspace_roots': mode === 'workspace-write' ? 'write' : 'read',
        ...(own ? { [own]: 'read' } : {}),
        [deniedReadPath]: 'none',
      }),
    )
  }
  return args
}

const ownPaths = new Map<string, string | undefined>()

/**
 * Where the native codex a codex process runs lives (what it runs again inside bubblewrap), as a real path:
 * the platform package's `vendor/<target>` directory (its `bin/codex`, `codex-path/rg`, `codex-resources/bwrap`)
 * for the pinned layout, the binary alone otherwise (CODEX_PATH: its directory may hold anything). For the Node
 * wrapper (`codex.js`), the native binary its package would start.
 */
export function codexOwnPath(binary: string): string {
  let real = binary
  try {
    real = realpathSync(binary)
  } catch {}
  if (real.endsWith('.js')) {
    const native = nativeCodexBinary(createRequire(real))
    if (native) real = realpathSync(native)
  }
  const dir = path.dirname(real)
  return path.basename(dir) === 'bin' && path.basename(path.dirname(path.dirname(dir))) === 'vendor'
    ? path.dirname(dir)
    : real
}
