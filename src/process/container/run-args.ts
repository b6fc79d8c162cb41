import path from 'node:path'
import type { LaunchSpec } from '../runner.js'
import { bindMount, containerMountRoot, mountSyntax } from './bind-mount.js'
import { type ContainerOptions, instanceLabel, labelPrefix } from './container-options.js'
import { keptOutputArgs } from './kept-output.js'

/** Host identity that must not enter a container (the image has its own PATH; HOME is the tmpfs). */
const hostOnlyEnv = new Set(['PATH', 'HOME', 'TMPDIR', 'SHELL', 'USER', 'LOGNAME', 'PWD', 'OLDPWD'])

/** Where a container's writable scratch space and HOME live (the root filesystem is read-only). */
export const containerTmp = '/tmp'

/** Where a container sees the launch's staged files (LaunchSpec.files; their host directory is a temp dir). */
export const containerStaged = `${containerMountRoot}/staged`

export interface ContainerRun {
  /** argv after the engine binary. */
  args: string[]
  /** The env of the engine client: its own env plus the values `-e NAME` hands into the container. */
  clientEnv: Record<string, string>
}

/**
 * `<engine> run` for one launch: named and labelled (instance + the launch's labels), hardened (no
 * capabilities, no new privileges, read-only root with a tmpfs, a pid limit, a non-root user), the cwd at its own
 * path and the launch's mounts at theirs (Mount.target; read-only unless writable; bind-mount.ts), the staged
 * files' directory at containerStaged, the env by name only (`-e NAME`
 * takes the value from the client's env: no value, secret or not, appears on a command line).
 */
export function containerRunArgs(
  spec: LaunchSpec,
  options: ContainerOptions,
  name: string,
  image: string,
  staging: string | undefined,
  /** Where the engine keeps the container's output (podman: kept-output.ts); absent: its default log. */
  keptLog?: string,
): ContainerRun {
  const args = ['run', '--rm', '-i', '--init', '--name', name, '--hostname', name.slice(0, 63)]
  args.push('--label', `${labelPrefix}=1`, '--label', `${instanceLabel}=${options.instance}`)
  for (const [key, value] of Object.entries(spec.labels ?? {}))
    args.push('--label', `${labelPrefix}.${key}=${value}`)
  args.push(
    '--network',
    options.network,
    '--cap-drop=ALL',
    '--security-opt=no-new-privileges',
    '--read-only',
    '--tmpfs',
    `${containerTmp}:rw,nosuid,nodev,mode=1777,size=${options.tmpfsSize}`,
    '--pids-limit',
    String(options.pidsLimit),
    '--user',
    options.user,
  )
  if (options.memory) args.push('--memory', options.memory)
  if (options.cpus) args.push('--cpus', options.cpus)
  for (const ulimit of options.ulimits ?? []) args.push('--ulimit', ulimit)
  // by target: a directory seen at one place once, writable when any launch part wants it so
  const mounts = new Map<string, { source: string; writable: boolean }>()
  const mount = (source: string, target: string, writable: boolean) =>
    mounts.set(target, { source, writable: (mounts.get(target)?.writable ?? false) || writable })
  mount(spec.cwd, spec.cwd, spec.writableCwd ?? false)
  for (const m of spec.mounts ?? []) mount(m.path, m.target ?? m.path, m.writable)
  if (staging) mount(staging, containerStaged, false)
  const syntax = mountSyntax(options.engine)
  for (const [target, { source, writable }] of mounts)
    args.push('--mount', bindMount(source, target, writable, syntax))
  args.push('--workdir', spec.cwd)
  if (keptLog) args.push(...keptOutputArgs(keptLog))

  const clientEnv: Record<string, string> = { ...options.engineEnv }
  args.push('-e', `HOME=${containerTmp}`, '-e', `TMPDIR=${containerTmp}`)
  for (const [key, value] of Object.entries(spec.env)) {
    if (value === undefined || hostOnlyEnv.has(key) || key in options.engineEnv) continue
    clientEnv[key] = value
    args.push('-e', key)
  }
  args.push(image, spec.program ?? path.basename(spec.command), ...spec.args)
  return { args, clientEnv }
}
