/**
 * CPU time of this process by thread, from /proc/self/task (Linux): which of the main thread, V8's GC helpers
 * ("V8 DefaultWorke"), libuv's pool ("libuv-worker"), worker threads and the rest a stretch of work kept busy.
 */

import { readdirSync, readFileSync } from 'node:fs'
import os from 'node:os'

/** Clock ticks per second of /proc's utime and stime (USER_HZ: 100 on Linux). */
const ticksPerSecond = 100

/** CPU ms (user + system) of each thread of this process now, summed by thread name; the main thread is "main". */
export function threadCpu(): Map<string, number> {
  const byName = new Map<string, number>()
  let tasks: string[]
  try {
    tasks = readdirSync('/proc/self/task')
  } catch {
    return byName
  }
  for (const tid of tasks) {
    let stat: string
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
    } catch {
      continue // ended meanwhile
    }
    // "tid (comm) state ..." where comm may hold spaces and parentheses: the fields follow the last ')'
    const comm =
      Number(tid) === process.pid ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
    // threads share names (Node names most of its own "node"): AGW_BENCH_THREAD_IDS=1 keeps them apart by id
    const name = process.env.AGW_BENCH_THREAD_IDS === '1' ? `${comm}/${tid}` : comm
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond
    byName.set(name, (byName.get(name) ?? 0) + ms)
  }
  return byName
}

/** What each thread name used between two `threadCpu()` readings, per `per` (e.g. turns), largest first. */
export function threadCpuSince(before: Map<string, number>, per: number): string {
  if (os.platform() !== 'linux') return 'threads: /proc only'
  const after = threadCpu()
  return [...after]
    .map(([name, ms]) => [name, (ms - (before.get(name) ?? 0)) / per] as const)
    .filter(([, ms]) => ms > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([name, ms]) => `${name} ${ms.toFixed(2)}`)
    .join(', ')
}
