import { readdirSync, readFileSync } from 'node:fs'

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
 * Every process descended from `pid` (Linux /proc; empty elsewhere). Agents start some helpers in process
 * groups or sessions of their own (codex runs commands that way), which a group kill alone would miss.
 */
export function descendants(pid: number): number[] {
  let names: string[]
  try {
    names = readdirSync('/proc')
  } catch {
    return []
  }
  const children = new Map<number, number[]>()
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      const list = children.get(ppid) ?? []
      list.push(Number(name))
      children.set(ppid, list)
    } catch {
      // exited while we looked
    }
  }
  const out: number[] = []
  const stack = [...(children.get(pid) ?? [])]
  while (stack.length > 0) {
    const next = stack.pop()!
    out.push(next)
    stack.push(...(children.get(next) ?? []))
  }
  return out
}

/** A termination in progress: SIGKILL follows unless cancelled; `killNow` skips the rest of the grace. */
export interface Termination {
  cancel(): void
  killNow(): void
}

/** SIGTERM the group and all its descendants now, SIGKILL them after `graceMs`. */
export function terminateGroup(pid: number, graceMs: number): Termination {
  const tree = descendants(pid)
  const signalAll = (signal: NodeJS.Signals) => {
    killGroup(pid, signal)
    for (const child of tree) {
      killGroup(child, signal)
      try {
        process.kill(child, signal)
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
