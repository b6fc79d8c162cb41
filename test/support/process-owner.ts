import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'

/**
 * Who owns what a test run leaves on the machine (PostgreSQL servers, their template): a process by pid and
 * start time (clock ticks since boot, /proc/<pid>/stat field 22), so a pid reused by another process is not
 * taken for the owner. Linux only (/proc), like the rest of the suite's process checks.
 */
export interface ProcessOwner {
  pid: number
  startTime: string
}

/** Set by global-setup.ts: the vitest process, which owns everything its workers start. */
export const ownerVariable = 'AGW_TEST_OWNER'

/** The start time of a running process, or null when there is none with that pid. */
export function startTimeOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null
  } catch {
    return null
  }
}

export function ownerOf(pid: number): ProcessOwner {
  const startTime = startTimeOf(pid)
  if (startTime === null) throw new Error(`no process ${pid}`)
  return { pid, startTime }
}

/** The vitest process of this run (AGW_TEST_OWNER), or this process outside vitest (a bench script). */
export function suiteOwner(): ProcessOwner {
  const recorded = process.env[ownerVariable]
  return recorded ? (JSON.parse(recorded) as ProcessOwner) : ownerOf(process.pid)
}

export function ownerAlive(owner: ProcessOwner): boolean {
  return startTimeOf(owner.pid) === owner.startTime
}

export const sameOwner = (a: ProcessOwner, b: ProcessOwner) => a.pid === b.pid && a.startTime === b.startTime

/** The owner of a process that has ended (it was alive when read, so the pid and start time are real). */
export async function deadOwner(): Promise<ProcessOwner> {
  const child = spawn('cat', [], { stdio: ['pipe', 'ignore', 'ignore'] })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const owner = ownerOf(child.pid as number)
  child.stdin.end()
  await exited
  return owner
}
