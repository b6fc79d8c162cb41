import { baseChildEnv } from '../../process/child-env.js'
import { newMarker } from '../../process/process-marker.js'
import type { LaunchSpec } from '../../process/runner.js'
import { codexHostCaEnv } from '../codex/ca-bundle.js'
import { markerOverride } from '../codex/command-markers.js'
import { codexOverride } from '../codex/config-override.js'
import { codexEnv, codexProviderArgs } from '../codex/provider-args.js'
import { sessionProfileOverrides, sessionProfiles } from '../codex/read-profiles.js'
import type { AppServerProcessOptions } from './app-server-process.js'

/**
 * Whether the app-server's threads may run a permission profile, so that it defines them (read-profiles.ts
 * sessionProfiles: by default the one that reads all with a denied read, for `untrusted` threads; the
 * read-confining ones with CODEX_CONFINE_READS; none with ALLOW_DANGER_FULL_ACCESS, nor in a container, which
 * confines codex). Under a profile codex starts a sandboxed file-system helper for its own file lookups, in a turn
 * without a command too: such a thread's turns sweep for its launchers (app-server-host.ts `turnBegan`).
 */
export function runsProfiles(options: Pick<AppServerProcessOptions, 'config' | 'placement'>): boolean {
  return sessionProfiles(options.config) !== undefined && options.placement?.isolation !== 'container'
}

/**
 * What to launch for one `codex app-server` (data for the ProcessRunner): the provider overrides, the
 * allowlisted env plus codex's own, stdin kept open for JSON-RPC, no timeout, leftovers swept (its marker set
 * in its commands' environment policy), and the placement (a container) when the options ask for one.
 */
export function appServerLaunch(binary: string, options: AppServerProcessOptions): LaunchSpec {
  const { config, serverEnv = process.env } = options
  // a new one per process: the sweep after one process ended must not reach the next one's commands
  const marker = newMarker()
  return {
    command: binary,
    // A thread nobody is subscribed to is unloaded at once (default: kept for minutes): the gateway
    // unsubscribes when a run ends or a session went idle (SESSION_IDLE_SECONDS), and resumes it when needed.
    args: [
      'app-server',
      ...codexOverride('thread_unload_delay_secs', 0),
      // the profiles its threads select (thread-settings.ts)
      ...(runsProfiles(options) ? sessionProfileOverrides(config, binary) : []),
      ...codexProviderArgs(config, options.runner, serverEnv),
      ...markerOverride(marker),
    ],
    cwd: options.cwd,
    env: {
      ...baseChildEnv(serverEnv),
      ...codexEnv(config, serverEnv, options.runner),
      ...codexHostCaEnv(serverEnv, options.placement?.isolation),
      ...(options.codexHome ? { CODEX_HOME: options.codexHome } : {}),
      ...(config.CODEX_LOG_LEVEL ? { RUST_LOG: config.CODEX_LOG_LEVEL } : {}),
    },
    stdin: { keepOpen: true },
    timeoutMs: null,
    killGraceMs: config.KILL_GRACE_MS,
    // helpers it starts in sessions of their own outlive a crashed app-server
    sweepLeftovers: true,
    // its commands carry it through codex's environment policy, whatever the operator's (command-markers.ts)
    marker,
    ...options.placement,
  }
}
