import { hostPassTimeoutMs, inSpawnHost } from './host-pass.js'
import { procScan } from './proc-scan.js'

/**
 * A long-lived agent process (codex app-server, a warm ACP agent) outlives the runs and turns it serves, so
 * the sweep of its marked leftovers (marked-processes.ts) comes only once it ended. A command it ran that left
 * its process tree (a double fork into a session of its own, a sandbox wrapper whose outer half was killed
 * while the inner one ran on) is reparented to init (or a subreaper) and would live on until then. Such a
 * process is "escaped": it carries the agent process's marker, but its parent chain does not reach the agent
 * process. The agent's own descendants (codex's background terminals, which persist between a session's
 * turns; MCP servers) are never touched.
 *
 * Attribution (one agent process serves several runs and sessions at once), when a turn ended:
 * - by owner: an agent that passes a value of the gateway's to the commands of one thread (codex: its thread's
 *   `shell_environment_policy.set`, `ownerVariable` in process-marker.ts) has each escaped process name its thread. It is the
 *   ended turn's when it names that turn's thread (wherever it works), never when it names another. The caller
 *   sweeps only while no turn of that thread runs (a session's turns run one at a time).
 * - by directory, for a process that names no owner (ACP agents; a command that dropped the value): it is the
 *   ended turn's when it works (its /proc cwd) inside that turn's cwd, and no turn still running on the same
 *   agent process works in that directory, above it, or in a directory containing the process's cwd. Limits:
 *   a command that changed its directory elsewhere is not found (it is ended with the agent process, or at the
 *   next start after a crash: server-marker.ts); one that moved into another idle run's directory is taken for
 *   that one's when a turn there ends.
 * A command that scrubbed its whole environment is not found. Linux only (/proc). The scan itself
 * (`escapedProcesses`) is written once, in proc-scan-source.ts: the spawn host runs it, and so does this thread
 * (proc-scan.ts) when there is no host.
 */

/** The ended turn: where it worked, its owner value if its agent passes one, where live turns work. */
export interface EscapeScope {
  within: readonly string[]
  except: readonly string[]
  owner?: string
}

/**
 * One scan on this thread (when there is no spawn host, or it did not answer): each process that escaped `root` and
 * belongs to `scope` (its directories resolved here) gets `signal`. Returns how many were signalled.
 */
export function signalEscapedHere(
  root: number,
  marker: string,
  scope: EscapeScope,
  signal: NodeJS.Signals,
): number {
  return procScan().signalEscaped(root, marker, scope, signal, [])
}

/**
 * Ends the processes that escaped `root` and belong to the scope `scopeNow()` gives (asked again at each pass,
 * so a run started meanwhile in the same directory is respected; undefined: nothing to do): SIGTERM, then
 * SIGKILL after `graceMs` for what is still there (children forked meanwhile included).
 *
 * Where the scan runs: in the spawn host (spawn-host-source.ts, proc-scan-source.ts) as the marker sweeps' passes
 * do (marked-processes.ts: why), so no /proc scan runs on this thread: a pass sends the scope computed here at that
 * moment, the host resolves its directories, scans and signals (never itself nor this process). Without a host, or
 * if it does not answer within `hostTimeoutMs` (10 s, host-pass.ts), the scan runs here, synchronously, with the
 * scope asked again.
 * It never runs on the path of the turn that ended: it is deferred to a timer of its own (unref'd: it never keeps
 * the process alive), after the turn's end was delivered and recorded. Resolves once its last pass is over (tests).
 */
export function endEscaped(
  root: number,
  marker: string,
  scopeNow: () => EscapeScope | undefined,
  graceMs: number,
  hostTimeoutMs = hostPassTimeoutMs,
): Promise<void> {
  // the scope is asked where the pass runs, just before it (again here if the host did not answer: it may have
  // changed meanwhile)
  const signalAll = (signal: NodeJS.Signals): Promise<number> =>
    inSpawnHost(
      (host) => {
        const scope = scopeNow()
        return scope ? host.signalEscaped({ root, marker, scope, signal }) : Promise.resolve(0)
      },
      () => {
        const scope = scopeNow()
        return scope ? signalEscapedHere(root, marker, scope, signal) : 0
      },
      hostTimeoutMs,
    )
  const after = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref())
  return (async () => {
    await after(0)
    if ((await signalAll('SIGTERM')) === 0) return
    await after(graceMs)
    await signalAll('SIGKILL')
  })()
}
