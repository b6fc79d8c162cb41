import type { EscapeScope } from '../process/escaped-processes.js'

/**
 * The working directories of the turns running on one long-lived agent process (a codex app-server, a warm
 * ACP agent), each once per turn; they are what attributes a command that escaped that process's tree to the
 * run or turn that ended (process/escaped-processes.ts: the rule and its limits). The process outlives its
 * turns, so the sweep after its own end (marked-processes.ts) would come too late for them.
 */
export class TurnDirectories {
  private readonly live: string[] = []

  constructor(private readonly endEscaped: (scope: () => EscapeScope | undefined) => void) {}

  /**
   * A turn in `cwd` runs; the returned function says it ended. With `sweep`, the commands that escaped the
   * process tree and work inside `cwd` are ended then, unless a turn still running there works in that
   * directory or above it (asked again at each pass of the sweep).
   */
  began(cwd: string): (sweep: boolean) => void {
    this.live.push(cwd)
    let ended = false
    return (sweep) => {
      if (ended) return
      ended = true
      this.live.splice(this.live.indexOf(cwd), 1)
      if (sweep) this.endEscaped(() => ({ within: [cwd], except: [...this.live] }))
    }
  }
}
