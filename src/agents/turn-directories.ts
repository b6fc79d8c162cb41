import type { EscapeScope } from '../process/escaped-processes.js'

/** A scope of no directory and no owner: the escaped sweep takes the stranded launchers alone. */
const launchersAlone: EscapeScope = { within: [], except: [] }

interface LiveTurn {
  cwd: string
  /** The value the agent passes to the commands of the turn's thread, if it passes one. */
  owner: () => string | undefined
}

/**
 * The turns running on one long-lived agent process (a codex app-server, a warm ACP agent): their working
 * directories and owner values are what attributes a command that escaped that process's tree to the run or
 * turn that ended (process/escaped-processes.ts: the rule and its limits). The process outlives its turns, so
 * the sweep after its own end (marked-processes.ts) would come too late for them.
 */
export class TurnDirectories {
  private readonly live: LiveTurn[] = []

  /**
   * `startsHelpers`: the agent starts sandboxed helpers of its own, not only commands (codex under a read-confining
   * profile: its file-system helper, `bwrap ... codex --codex-run-as-fs-helper`, for its own file lookups), so a
   * turn that ran no command may strand a launcher too (proc-table.ts `waitsToStart`: codex killed the launch in the
   * instant after bwrap forked). Every turn's end then sweeps such launchers: a turn that needs no sweep of its own
   * scans for them alone (a scope of no directory: escaped-processes.ts takes a stranded launcher whatever the
   * scope), so none waits for a later turn that runs a command; that sweep is not waited for (a plain turn's end is
   * told at once). Without it a plain turn costs no /proc scan.
   */
  constructor(
    private readonly endEscaped: (scope: () => EscapeScope | undefined) => Promise<void>,
    private readonly startsHelpers = false,
  ) {}

  /**
   * A turn in `cwd` runs; the returned function says it ended. With `sweep`, the commands that escaped the
   * process tree and belong to the turn are ended then, and the promise it returns resolves once none is left
   * (the turn's end is told after it): those naming its owner, or (naming none) working inside `cwd` unless a
   * turn still running there works in that directory or above it. Asked again at each pass of the sweep;
   * nothing while a turn of the same owner (the next turn of a session) runs.
   */
  began(
    cwd: string,
    owner: () => string | undefined = () => undefined,
    /** Whether this turn's agent starts helpers (default: the process's `startsHelpers`), asked at its end. */
    startsHelpers: () => boolean = () => this.startsHelpers,
  ): (sweep: boolean) => Promise<void> {
    const turn: LiveTurn = { cwd, owner }
    this.live.push(turn)
    let ended = false
    return (sweep) => {
      if (ended) return Promise.resolve()
      ended = true
      const own = owner()
      this.live.splice(this.live.indexOf(turn), 1)
      if (!sweep) {
        if (startsHelpers()) void this.endEscaped(() => launchersAlone)
        return Promise.resolve()
      }
      return this.sweep(cwd, own)
    }
  }

  /**
   * A thread that worked in `cwd` was let go of (a session closed, a warm run's thread unloaded): what escaped
   * into `cwd` naming no owner is ended as at a turn's end, whether or not a turn of the thread ran a command.
   * codex's shell snapshot (a login shell it starts with each thread, in a session of its own, without the
   * thread's `shell_environment_policy`) leaves what the profile ran in the background, naming no thread. A
   * directory scope alone: the thread's commands that name it were swept when their turn ended, and the cheap test
   * (a readlink per process) comes first. Resolves once none is left.
   */
  threadEnded(cwd: string): Promise<void> {
    return this.sweep(cwd, undefined)
  }

  private sweep(cwd: string, own: string | undefined): Promise<void> {
    return this.endEscaped(() => {
      if (own !== undefined && this.live.some((t) => t.owner() === own)) return undefined
      return { within: [cwd], except: this.live.map((t) => t.cwd), ...(own ? { owner: own } : {}) }
    })
  }
}
