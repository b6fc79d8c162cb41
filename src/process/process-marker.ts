import { randomUUID } from 'node:crypto'

/**
 * The variable that marks an agent program and everything it starts (marked-processes.ts sweeps by it): a
 * unique value per program, inherited by its descendants. Drivers make the value when they must also hand it
 * to the program's own command policy (codex's `shell_environment_policy.set`), so its commands keep it.
 */
export const markerVariable = 'AGENT_GATEWAY_APP_SERVER'

/**
 * The variable an agent that serves several threads passes to one thread's commands (codex: the thread's
 * `shell_environment_policy.set`), so a command that escaped its process tree names the thread it ran for
 * (escaped-processes.ts attributes it by this value).
 */
export const ownerVariable = 'AGENT_GATEWAY_THREAD'

/**
 * Whether an environment (`NAME=value` entries) carries `marker`: in `markerVariable`, or in a name that ends
 * with `_` + it. A program whose env filter keeps only names of its own passes the marker on under such a
 * name (Gemini CLI's strict filter keeps every `GEMINI_CLI_*` name, and drops the rest). The sweeps' passes
 * read it the same way (proc-scan-source.ts `markerIn`).
 */
export function carriesMarker(environ: readonly string[], marker: string): boolean {
  const suffix = `${markerVariable}=${marker}`
  return environ.some((entry) => entry === suffix || entry.endsWith(`_${suffix}`))
}

/**
 * A program's markers ride in its PATH too, as directories that cannot exist (nothing can be created under /proc),
 * appended last so no lookup finds anything there: `/proc/agent-gateway/NAME=value`, the value URI-encoded (the
 * server marker holds a `:`). codex starts its file-system helper (`bwrap ... codex --codex-run-as-fs-helper`, a
 * permission profile's sandboxed reads) with an environment cleared but for PATH, so those processes carried no
 * marker and no sweep found them once codex had left them. The sweeps' table reads these entries as environment
 * entries (proc-scan-source.ts `environ`).
 */
export const markerPathPrefix = '/proc/agent-gateway/'

/**
 * `env` with `markers` (NAME -> value) set, and the same appended to its PATH, if it has one, as marker directories
 * (any it had dropped first).
 */
export function withMarkers(
  env: NodeJS.ProcessEnv,
  markers: Readonly<Record<string, string>>,
): NodeJS.ProcessEnv {
  const marked: NodeJS.ProcessEnv = { ...env, ...markers }
  if (env.PATH !== undefined)
    marked.PATH = [
      ...env.PATH.split(':').filter((dir) => !dir.startsWith(markerPathPrefix)),
      ...Object.entries(markers).map(
        ([name, value]) => `${markerPathPrefix}${name}=${encodeURIComponent(value)}`,
      ),
    ].join(':')
  return marked
}

export function newMarker(): string {
  return randomUUID()
}
