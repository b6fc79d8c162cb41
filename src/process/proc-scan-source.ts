import { markerPathPrefix, markerVariable, ownerVariable } from './process-marker.js'

/**
 * The /proc reads and scans of the process sweeps, written once, as plain CommonJS source: the spawn host includes
 * it (spawn-host-source.ts: the host runs as `node -e <source>`, so it cannot import TypeScript), and this thread
 * evaluates the same text once (proc-scan.ts gives it its types), for the sweeps' fallback without a host and for
 * every other /proc read of the gateway. Only declarations, no side effect but two `require`s.
 *
 * - `procStat(pid)`: the fields of /proc/<pid>/stat the sweeps use, or null (proc-stat.ts).
 * - `procTable()`: /proc read when asked, parents remembered (proc-table.ts); an environment with the markers its
 *   PATH carries appended as entries (process-marker.ts `withMarkers`).
 * - `realDir(dir)`: the directory with its symbolic links resolved, else as it is.
 * - `markerIn(environ, variable, markers)`: the value of `markers` (a Map) the environment carries in `variable`
 *   or in a name ending with `_` + it (process-marker.ts: why), or undefined.
 * - `pidCounters()`: what bounds where new pids lie (pid-window.ts): { forks, tasks, lastPid, pidMax }, or null
 *   (not Linux, or a /proc of another pid namespace than this process's).
 * - `windowTest(windows)`: a test `pid => boolean` that holds for every pid allocated since any window's leader
 *   (pid-window.ts: why it is sound), or undefined when that cannot be bounded (then every process is looked at).
 *   Read after the listing of /proc it filters: what that listing shows was allocated before.
 * - `signalMarked(variable, markers, except, since, windows)`: one pass: every process (this one and `except`
 *   excepted) whose environment carries a marker of `markers` (marker -> signal; 0: none, a look) gets its
 *   signal; the Set of markers found. `windows` (pid-window.ts; absent: none): only the processes whose pids were
 *   allocated since the markers' programs' leaders are looked at, the others not even stat'ed; when they bound
 *   nothing (windowTest undefined), `since` (clock ticks since boot; 0: any): a process that started before it is
 *   skipped after a look at its stat, its environment not read (marker-sweeps.ts: the markers' programs started
 *   then).
 * - `windowPids(windows, except)`: the live pids (this process and `except` excepted) in those windows, or
 *   undefined when they bound nothing (marked-processes.ts: a pass with none to look at sends nothing). Windows
 *   that span a few ids only (`probeAtMost`, default windowProbeAtMost: a cold run's end, with nothing forked
 *   since but its program's own threads) are looked at id by id, without a listing of /proc.
 * - `signalMarkedAmong(variable, markers, pids)`: signalMarked's signalling, for those pids only.
 * - `signalIfMarked(table, pid, variable, markers, found, since)`: that for one process (the spawn host's sliced
 *   pass).
 * - `escapedProcesses(table, root, marker, scope, except)`: the pids that carry `marker`, whose parent chain does
 *   not reach `root`, and that belong to `scope` ({ within, except, owner }: escaped-processes.ts's rule and
 *   EscapeScope, directories already real), or to no one (a launcher stranded before it started its command:
 *   proc-table.ts `waitsToStart`); `except`: pids never taken.
 * - `signalEscaped(root, marker, scope, signal, except)`: resolves the scope's directories, scans, signals what
 *   escapedProcesses finds (never this process nor `except`); how many were signalled.
 */
export const procScanSource = `
const fs = require('node:fs')
const path = require('node:path')

function procStat(pid) {
  try {
    const stat = fs.readFileSync('/proc/' + pid + '/stat', 'utf8')
    // the fields after the command name, which may hold spaces and parentheses, start after its last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return {
      state: fields[0] ?? '',
      ppid: Number(fields[1]),
      pgid: Number(fields[2]),
      startTime: Number(fields[19]),
    }
  } catch {
    return null
  }
}

function procTable() {
  const parents = new Map()
  return {
    pids() {
      try {
        return fs.readdirSync('/proc').filter((name) => /^[0-9]+$/.test(name)).map(Number)
      } catch {
        return []
      }
    },
    cwd(pid) {
      try {
        return fs.readlinkSync('/proc/' + pid + '/cwd')
      } catch {
        return null // exited meanwhile, or not ours to read
      }
    },
    ppid(pid) {
      if (!parents.has(pid)) parents.set(pid, procStat(pid)?.ppid ?? null)
      return parents.get(pid) ?? null
    },
    environ(pid) {
      try {
        return withPathMarkers(fs.readFileSync('/proc/' + pid + '/environ', 'latin1').split(String.fromCharCode(0)))
      } catch {
        return null // exited meanwhile, or not ours to read
      }
    },
    waitsToStart(pid) {
      try {
        if (path.basename(argv0(pid)) !== 'bwrap') return false
        const fds = '/proc/' + pid + '/fd/'
        return fs.readdirSync(fds).some((fd) => {
          try {
            return fs.readlinkSync(fds + fd) === 'anon_inode:[eventfd]'
          } catch {
            return false
          }
        })
      } catch {
        return false // exited meanwhile, or not ours to read
      }
    },
  }
}

// a process's argv[0]: the start of its command line (one small read: every process's is read by a sweep)
const argv0Buffer = Buffer.alloc(256)
function argv0(pid) {
  const fd = fs.openSync('/proc/' + pid + '/cmdline', 'r')
  try {
    const bytes = fs.readSync(fd, argv0Buffer, 0, argv0Buffer.length, 0)
    const end = argv0Buffer.indexOf(0)
    return argv0Buffer.toString('latin1', 0, end >= 0 && end < bytes ? end : bytes)
  } finally {
    fs.closeSync(fd)
  }
}

// the markers a PATH carries (process-marker.ts withMarkers), appended as entries of their own: the real ones,
// first, are the ones a lookup by name finds
function withPathMarkers(entries) {
  const pathEntry = entries.find((entry) => entry.startsWith('PATH='))
  if (pathEntry === undefined) return entries
  const found = []
  for (const dir of pathEntry.slice('PATH='.length).split(':')) {
    if (!dir.startsWith('${markerPathPrefix}')) continue
    try {
      found.push(decodeURIComponent(dir.slice(${markerPathPrefix.length})))
    } catch {} // not one we wrote
  }
  return found.length === 0 ? entries : entries.concat(found)
}

function realDir(dir) {
  try {
    return fs.realpathSync(dir)
  } catch {
    return path.resolve(dir)
  }
}

function insideDir(dir, root) {
  return dir === root || dir.startsWith(root.endsWith(path.sep) ? root : root + path.sep)
}

function markerIn(environ, variable, markers) {
  const suffix = '_' + variable
  for (const entry of environ) {
    const eq = entry.indexOf('=')
    if (eq < 0) continue
    const name = entry.slice(0, eq)
    if (name !== variable && !name.endsWith(suffix)) continue
    const value = entry.slice(eq + 1)
    if (markers.has(value)) return value
  }
  return undefined
}

// /proc/self names this process only when /proc is of its own pid namespace (its pids are the ones it signals)
let procIsOwn
function pidCounters() {
  try {
    procIsOwn ??= Number(fs.readlinkSync('/proc/self')) === process.pid
    if (!procIsOwn) return null
    const forks = Number(/^processes ([0-9]+)$/m.exec(fs.readFileSync('/proc/stat', 'latin1'))?.[1])
    // "0.00 0.01 0.05 running/tasks lastpid"
    const load = fs.readFileSync('/proc/loadavg', 'latin1').trim().split(' ')
    const tasks = Number(load[3]?.split('/')[1])
    const lastPid = Number(load[4])
    const pidMax = Number(fs.readFileSync('/proc/sys/kernel/pid_max', 'latin1').trim())
    const all = [forks, tasks, lastPid, pidMax]
    return all.every((n) => Number.isSafeInteger(n) && n > 0) ? { forks, tasks, lastPid, pidMax } : null
  } catch {
    return null
  }
}

// the last pid given (/proc/loadavg), when every window bounds where its pids lie (pid-window.ts); else undefined
function windowBound(windows) {
  if (!windows || windows.length === 0) return undefined
  const now = pidCounters()
  if (!now) return undefined
  for (const w of windows) {
    const forks = now.forks - w.forks
    // how far the pid cursor can have moved since the leader's pid, at most: each step an allocation (a fork) or
    // an id in use (a task's pid, group or session id: alive then, or allocated since)
    const travel = 3 * w.tasks + 4 * forks
    if (!(forks >= 0 && travel < Math.min(w.pidMax, now.pidMax) - 301)) return undefined
  }
  return now.lastPid
}

// whether a pid lies in a window: from its leader's pid to \`last\`, round through pid_max when \`last\` is below it
function inWindows(windows, last) {
  return (pid) =>
    windows.some((w) => (last >= w.pid ? pid >= w.pid && pid <= last : pid >= w.pid || pid <= last))
}

function windowTest(windows) {
  const last = windowBound(windows)
  return last === undefined ? undefined : inWindows(windows, last)
}

// How many ids a window may span for windowPids to look at them one by one (/proc/<id>: an access() each, ~3 µs,
// and a read of /proc/<id>/status for each that answers: a thread's id answers too) rather than list /proc (a
// readdir of every process: ~110-180 µs with 170 processes, more with more). Measured on a busy machine, 8 ids
// cost less than the listing, 24 (most of them live) more (docs/benchmarks.md, "Issue 14, session 47").
const windowProbeAtMost = 16

// Whether /proc/<id> is a process (a thread group's leader), as the listing of /proc shows them: a thread's id
// answers too (hidden from the listing), and is no process of its own.
function isProcess(id) {
  if (!fs.existsSync('/proc/' + id)) return false
  try {
    return Number(/^Tgid:[ \t]*([0-9]+)$/m.exec(fs.readFileSync('/proc/' + id + '/status', 'latin1'))?.[1]) === id
  } catch {
    return false // exited meanwhile
  }
}

function windowPids(windows, except, probeAtMost = windowProbeAtMost) {
  const last = windowBound(windows)
  if (last === undefined) return undefined
  const wanted = (pid) => pid !== process.pid && !except.includes(pid)
  // every window runs from its leader's pid to the last pid given: together, from the lowest leader's on
  const from = Math.min(...windows.map((w) => w.pid))
  if (windows.every((w) => w.pid <= last) && last - from < probeAtMost) {
    const pids = []
    for (let id = from; id <= last; id++) if (wanted(id) && isProcess(id)) pids.push(id)
    return pids
  }
  // else listed, after the counters were read: a pid the listing shows that was given since lies past the last one
  // and is left out, as one given after the listing would be (a later pass looks again)
  const inWindow = inWindows(windows, last)
  return procTable().pids().filter((pid) => wanted(pid) && inWindow(pid))
}

function signalMarked(variable, markers, except, since = 0, windows) {
  const table = procTable()
  const found = new Set()
  const pids = table.pids()
  const inWindow = windowTest(windows)
  for (const pid of pids) {
    if (pid === process.pid || except.includes(pid)) continue
    if (!inWindow) signalIfMarked(table, pid, variable, markers, found, since)
    else if (inWindow(pid)) signalIfMarked(table, pid, variable, markers, found, 0)
  }
  return found
}

function signalMarkedAmong(variable, markers, pids) {
  const table = procTable()
  const found = new Set()
  for (const pid of pids) signalIfMarked(table, pid, variable, markers, found, 0)
  return found
}

// pid gets its marker's signal if it started at since or later and its environment carries one of markers (added
// to found); the stat read first is the cheaper one (most processes are older than any program a pass is for)
function signalIfMarked(table, pid, variable, markers, found, since = 0) {
  if (since > 0 && !(procStat(pid)?.startTime >= since)) return
  const environ = table.environ(pid)
  const marker = environ ? markerIn(environ, variable, markers) : undefined
  if (marker === undefined) return
  try {
    process.kill(pid, markers.get(marker))
    found.add(marker)
  } catch {} // already gone
}

/** Whether pid descends from root (its parent chain reaches it). */
function descendsFrom(table, pid, root) {
  let current = table.ppid(pid)
  // a bound against a chain that changes while it is walked
  for (let steps = 0; current !== null && current > 1 && steps < 4096; steps++) {
    if (current === root) return true
    current = table.ppid(current)
  }
  return current === root
}

/**
 * Without an owner to look for, the cheap test comes first: the working directory (one readlink per process), then
 * the environment and the parent chain of the few that work inside the scope.
 */
function escapedProcesses(table, root, marker, scope, except) {
  // a directory a live run or turn works in (or above) is theirs as well: nothing in it can be told apart
  const within = scope.within.filter((dir) => !scope.except.some((live) => insideDir(dir, live)))
  const inScope = (pid) => {
    const cwd = table.cwd(pid)
    if (cwd === null || !within.some((dir) => insideDir(cwd, dir))) return false
    return !scope.except.some((live) => insideDir(cwd, live))
  }
  const markerEntry = '${markerVariable}=' + marker
  const ownerPrefix = '${ownerVariable}='
  const found = []
  // a launcher whose parent died before it let it start works for no one: taken whatever the scope
  const marked = (pid) => {
    const env = table.environ(pid)
    return env !== null && env.includes(markerEntry)
  }
  for (const pid of table.pids()) {
    if (pid === root || except.includes(pid)) continue
    if (scope.owner === undefined && !inScope(pid)) {
      if (table.waitsToStart(pid) && marked(pid) && !descendsFrom(table, pid, root)) found.push(pid)
      continue
    }
    const env = table.environ(pid)
    if (!env || !env.includes(markerEntry)) continue
    const entry = env.find((e) => e.startsWith(ownerPrefix))
    const owner = entry === undefined ? undefined : entry.slice(ownerPrefix.length)
    const ours =
      owner !== undefined
        ? owner === scope.owner
        : scope.owner === undefined || inScope(pid) || table.waitsToStart(pid)
    if (ours && !descendsFrom(table, pid, root)) found.push(pid)
  }
  return found
}

function signalEscaped(root, marker, scope, signal, except) {
  const real = { ...scope, within: scope.within.map(realDir), except: scope.except.map(realDir) }
  let count = 0
  for (const pid of escapedProcesses(procTable(), root, marker, real, [process.pid, ...except])) {
    try {
      process.kill(pid, signal)
      count++
    } catch {} // already gone
  }
  return count
}
`
