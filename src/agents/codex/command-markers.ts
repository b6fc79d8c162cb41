import { markerVariable, ownerVariable } from '../../process/process-marker.js'
import { serverMarker, serverMarkerVariable } from '../../process/server-marker.js'
import { codexOverride, tomlKey } from './config-override.js'

/**
 * How the gateway's markers (marked-processes.ts, escaped-processes.ts) reach the commands codex runs whatever
 * the operator's `shell_environment_policy`. codex builds a command's environment in this order
 * (codex-rs/core/src/exec_env.rs, `populate_env`): `inherit` (all, core or none), the default excludes
 * (`*KEY*`, `*SECRET*`, `*TOKEN*`), `exclude`, then `set`, then `include_only`. A marker codex merely inherits is
 * dropped by `inherit = "none"` or `"core"` and by an `exclude` that matches it; one in `set` survives them, and
 * only `include_only` (applied last) could still drop it: a non-empty one gets the markers' names added.
 */
export const commandMarkers: readonly string[] = [markerVariable, ownerVariable, serverMarkerVariable]

/**
 * The `-c` overrides that set the process marker and the server's (server-marker.ts: the next start's sweep
 * after a crash finds by it) in every command's environment. They go last on the command line, after the
 * operator's overrides: a dotted key adds one entry to `set`, whatever table they gave.
 */
export function markerOverride(marker: string, server: string = serverMarker()): string[] {
  return [
    ...codexOverride(`shell_environment_policy.set.${tomlKey(markerVariable)}`, marker),
    ...codexOverride(`shell_environment_policy.set.${tomlKey(serverMarkerVariable)}`, server),
  ]
}

/**
 * The operator's `include_only` (codex's effective one) with the markers' names added; undefined when it is
 * empty (codex then keeps every variable) or names them already.
 */
export function includeOnlyKeepingMarkers(includeOnly: readonly string[]): string[] | undefined {
  if (includeOnly.length === 0) return undefined
  const missing = commandMarkers.filter((name) => !includeOnly.includes(name))
  return missing.length === 0 ? undefined : [...includeOnly, ...missing]
}

/** The same as `-c` arguments, for `codex exec`. */
export function includeOnlyOverride(includeOnly: readonly string[] | undefined): string[] {
  return includeOnly ? codexOverride('shell_environment_policy.include_only', includeOnly) : []
}
