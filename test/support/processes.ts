import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import path from 'node:path'
import { createInterface } from 'node:readline'

/** A live process as /proc shows it (Linux). */
export interface ProcInfo {
  pid: number
  ppid: number
  pgid: number
  cwd: string | null
  cmd: string
}

export function listProcesses(): ProcInfo[] {
  return scanProcesses({})
}

/**
 * Processes whose working directory is `dir` or below it. The cwd is read first: a process elsewhere costs one
 * readlink, not the three reads of a whole entry (the leak checks poll this while processes end).
 */
export function processesUnder(dir: string): ProcInfo[] {
  return scanProcesses({ cwd: (cwd) => cwd !== null && (cwd === dir || cwd.startsWith(dir + path.sep)) })
}

/** The processes of a group; the others cost one read of their stat. */
export function processesInGroup(pgid: number): ProcInfo[] {
  return scanProcesses({ pgid: (g) => g === pgid })
}

/** The live processes (zombies left out) that pass the filters, each read only as far as a filter needs. */
function scanProcesses(keep: { cwd?: (cwd: string | null) => boolean; pgid?: (pgid: number) => boolean }) {
  const out: ProcInfo[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      let cwd: string | null | undefined
      if (keep.cwd) {
        cwd = readCwd(name)
        if (!keep.cwd(cwd)) continue
      }
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      // Fields after the command name (which may contain spaces) start after the last ')'.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (rest[0] === 'Z') continue
      const pgid = Number(rest[2])
      if (keep.pgid && !keep.pgid(pgid)) continue
      cwd ??= readCwd(name)
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()
      out.push({ pid: Number(name), ppid: Number(rest[1]), pgid, cwd, cmd })
    } catch {
      // the process ended while we looked
    }
  }
  return out
}

/** Process `name` as /proc shows it, or undefined if it is gone or a zombie. */
function procInfo(name: string): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (rest[0] === 'Z') return undefined
    const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()
    return { pid: Number(name), ppid: Number(rest[1]), pgid: Number(rest[2]), cwd: readCwd(name), cmd }
  } catch {
    return undefined // it ended while we looked
  }
}

function readCwd(pid: string): string | null {
  try {
    return readlinkSync(`/proc/${pid}/cwd`)
  } catch {
    return null
  }
}

/**
 * Polls until `check` returns an empty list or the time is up; returns the last list. The 15 s default is what a
 * loaded machine may take to end and reap a process group (signals, KILL_GRACE_MS, exit); it stays below the 20 s
 * and more that the tests' leftover processes (slow model answers, sleeps) would otherwise live.
 */
export async function waitUntilGone(check: () => ProcInfo[], timeoutMs = 15_000): Promise<ProcInfo[]> {
  const deadline = Date.now() + timeoutMs
  let left = check()
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50))
    left = check()
  }
  return left
}

export function killAll(procs: ProcInfo[]): void {
  for (const p of procs) {
    try {
      process.kill(p.pid, 'SIGKILL')
    } catch {}
  }
}

/**
 * The processes `pid` (default: this one) started: the children of its spawn host (src/process/spawn-host.ts,
 * a child whose code names the spawn socket), and its own children where it spawned them itself.
 */
export function spawnedFrom(pid = process.pid): ProcInfo[] {
  const own = childrenOf(pid)
  if (own === undefined) {
    // a kernel without /proc/<pid>/task/<tid>/children (CONFIG_PROC_CHILDREN): every process is looked at
    const all = listProcesses()
    const host = all.find((p) => p.ppid === pid && p.cmd.includes('AGENT_GATEWAY_SPAWN_SOCKET'))?.pid
    return all.filter((p) => p.pid !== host && (p.ppid === pid || (host !== undefined && p.ppid === host)))
  }
  const host = own.find((p) => p.cmd.includes('AGENT_GATEWAY_SPAWN_SOCKET'))?.pid
  return [...own.filter((p) => p.pid !== host), ...(host === undefined ? [] : (childrenOf(host) ?? []))]
}

/**
 * The live children of `pid`, from the kernel's lists of each of its threads' children: a few reads, where a scan
 * of every process took 110-130 ms of the event loop on a loaded machine (200 processes, load 26), and
 * run-capacity's sampler, scanning so every 50 ms, starved the gateway in the same process (its runs did not start
 * within 20 s). Undefined without those lists.
 */
function childrenOf(pid: number): ProcInfo[] | undefined {
  let tasks: string[]
  try {
    tasks = readdirSync(`/proc/${pid}/task`)
  } catch {
    return [] // pid is gone
  }
  const pids = new Set<string>()
  for (const tid of tasks) {
    let list: string
    try {
      list = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && existsSync(`/proc/${pid}/task/${tid}`))
        return undefined
      continue // the thread ended
    }
    for (const child of list.split(' ')) if (child) pids.add(child)
  }
  const out: ProcInfo[] = []
  for (const name of pids) {
    const info = procInfo(name)
    if (info && info.ppid === pid) out.push(info)
  }
  return out
}

/**
 * Starts `command` (which prints `ready` once it runs) as argv[0] `argv0`, in the background of a shell that exits
 * at once, so it escaped this process's tree (reparented to init), with `env` (and PATH) as its environment. Its
 * pid, once it said `ready`; the caller ends it.
 */
export async function startOrphan(
  argv0: string,
  command: string,
  env: Record<string, string>,
): Promise<number> {
  const shell = spawn('bash', ['-c', `exec -a ${argv0} ${command} & echo $!`], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const lines = createInterface({ input: shell.stdout })
  // the iterator keeps a line that arrives in the same read as the one before (once() would miss it: a loaded
  // machine reads the pid and `ready` together)
  const next = lines[Symbol.asyncIterator]()
  const pid = Number((await next.next()).value)
  const ready = (await next.next()).value
  lines.close()
  shell.stdout.destroy()
  if (!(pid > 0) || ready !== 'ready') {
    if (pid > 0) killAll([{ pid, ppid: 0, pgid: 0, cwd: null, cmd: '' }])
    throw new Error(`${argv0} did not start: pid ${pid}, then ${JSON.stringify(ready)}`)
  }
  return pid
}

/**
 * A process in the state codex's sandbox launcher is left in when codex kills a launch in the instant after bwrap
 * forked (proc-table.ts `waitsToStart`): argv[0] `bwrap`, an eventfd held (node stands in: libuv holds eventfds;
 * codex's own bwrap cannot be started alone), its parent gone, `env` (an agent's marker) in its environment.
 */
export const startStrandedLauncher = (env: Record<string, string>) =>
  startOrphan('bwrap', `node -e "console.log('ready'); setInterval(() => {}, 60000)"`, env)
