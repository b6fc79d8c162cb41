import path from 'node:path'
import { serverProcesses } from '../src/process/exit-sweep.js'
import { listProcesses } from '../test/support/processes.js'

/**
 * The processes a script started that are still there: its descendants in any group or session (the gateway's
 * spawn host and the agents under it, gateway nodes it ran as processes), and those that left its tree but
 * carry its in-process gateway's marker (exit-sweep.ts) or work under one of `dirs` (its temp base: a daemon an
 * agent's command double-forked, an agent of a node that was killed). Linux only (/proc).
 */
export function startedProcesses(dirs: readonly string[], self = process.pid): number[] {
  const all = listProcesses()
  const children = new Map<number, number[]>()
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid])
  const found = new Set<number>()
  const stack = [...(children.get(self) ?? [])]
  while (stack.length > 0) {
    const pid = stack.pop()!
    if (found.has(pid)) continue
    found.add(pid)
    stack.push(...(children.get(pid) ?? []))
  }
  const under = (cwd: string | null) =>
    cwd !== null && dirs.some((dir) => cwd === dir || cwd.startsWith(dir + path.sep))
  for (const p of all) if (under(p.cwd)) found.add(p.pid)
  for (const pid of serverProcesses()) found.add(pid)
  found.delete(self)
  return [...found]
}

/** SIGKILL for every process the script started (startedProcesses): for a script about to exit anyway. */
export function killStarted(dirs: readonly string[]): number {
  const pids = startedProcesses(dirs)
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone meanwhile
    }
  }
  return pids.length
}
