import { procStat, sameProcess } from './proc-stat.js'
import { procTable } from './proc-table.js'

/** Signal a whole process group; a group that is already gone is not an error. */
export function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false
    throw err
  }
}

/**
 * Whether the group `pid` names is still the one led by the process that started at `leaderStart` (undefined:
 * the leader was already gone when its pid came). It is while that leader runs (or is a zombie), and once no
 * process has its pid: a group outlives its leader, and the kernel does not give its id to a new process while
 * one of its members lives. A process with that pid and another start time is another program's (a reused pid):
 * a group it leads is not ours.
 */
export function ownGroup(pid: number, leaderStart: number | undefined): boolean {
  const leader = procStat(pid)
  return leader === null || leader.startTime === leaderStart
}

/** killGroup for a group remembered by its leader's pid: nothing is signalled if the pid was reused (ownGroup). */
export function killOwnGroup(pid: number, leaderStart: number | undefined, signal: NodeJS.Signals): boolean {
  return ownGroup(pid, leaderStart) && killGroup(pid, signal)
}

/** A process as a pid and its start time: a pid that was reused since is not taken for it. */
interface Known {
  pid: number
  startTime: number
}

/** Every process descended from one of `roots`, with its start time (Linux /proc; empty elsewhere). */
function descendantsOf(roots: readonly number[]): Known[] {
  const table = procTable()
  const children = new Map<number, Known[]>()
  for (const pid of table.pids()) {
    const stat = procStat(pid)
    if (!stat) continue // exited while we looked
    const list = children.get(stat.ppid) ?? []
    list.push({ pid, startTime: stat.startTime })
    children.set(stat.ppid, list)
  }
  const out: Known[] = []
  const stack = roots.flatMap((root) => children.get(root) ?? [])
  while (stack.length > 0) {
    const next = stack.pop()!
    out.push(next)
    stack.push(...(children.get(next.pid) ?? []))
  }
  return out
}

/**
 * Every process descended from `pid` (Linux /proc; empty elsewhere). Agents start some helpers in process
 * groups or sessions of their own (codex runs commands that way), which a group kill alone would miss.
 */
export function descendants(pid: number): number[] {
  return descendantsOf([pid]).map((d) => d.pid)
}

/** A termination in progress: SIGKILL follows unless cancelled; `killNow` skips the rest of the grace. */
export interface Termination {
  cancel(): void
  killNow(): void
}

/**
 * SIGTERM the group and all its descendants now, SIGKILL them after `graceMs`. Each pass looks for the tree
 * again: what a process forked during the grace (a trap that starts a helper in a session of its own) is
 * found under the leader or under a member seen before (reparented away from a leader that died). A member
 * seen before is signalled only while its pid still names it (same start time), the group only while its
 * leader is the one that was started or gone (a group outlives its leader, and its id is not reused while it
 * does): a pid freed meanwhile may belong to another program by the time SIGKILL comes.
 */
export function terminateGroup(
  pid: number,
  graceMs: number,
  leaderStart: number | undefined = procStat(pid)?.startTime,
): Termination {
  const known = new Map<number, number>()
  const signalAll = (signal: NodeJS.Signals) => {
    const ours = ownGroup(pid, leaderStart)
    const alive = [...known].filter(([p, t]) => sameProcess(p, t)).map(([p]) => p)
    for (const found of descendantsOf(ours ? [pid, ...alive] : alive)) known.set(found.pid, found.startTime)
    if (ours) killGroup(pid, signal)
    for (const [member, startTime] of known) {
      if (!sameProcess(member, startTime)) {
        known.delete(member)
        continue
      }
      killGroup(member, signal)
      try {
        process.kill(member, signal)
      } catch {
        // already gone
      }
    }
  }
  signalAll('SIGTERM')
  const timer = setTimeout(() => signalAll('SIGKILL'), graceMs)
  timer.unref()
  return {
    cancel: () => clearTimeout(timer),
    killNow: () => {
      clearTimeout(timer)
      signalAll('SIGKILL')
    },
  }
}
