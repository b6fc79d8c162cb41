/**
 * escaped-processes.ts's scan as plain CommonJS, for the spawn host (spawn-host-source.ts includes it: the host runs
 * as `node -e <source>`, so it cannot import the TypeScript). Only function declarations, no side effect: a test
 * evaluates it and holds `escapedProcesses` to the same cases as the TypeScript one
 * (test/unit/escaped-processes.test.ts). Keep the two the same.
 *
 * - `escapedProcesses(table, root, marker, scope, except)`: the pids that carry `marker` in
 *   AGENT_GATEWAY_APP_SERVER, whose parent chain does not reach `root`, and that belong to `scope`
 *   ({ within, except, owner }: escaped-processes.ts's EscapeScope, directories already real); `except`: pids
 *   never taken (the host, its gateway).
 * - `procTable()`: /proc read when asked, parents remembered (proc-table.ts).
 * - `realDir(dir)`: the directory with its symbolic links resolved, else as it is.
 */
export const escapedScanSource = `
function insideDir(dir, root) {
  const sep = require('node:path').sep
  return dir === root || dir.startsWith(root.endsWith(sep) ? root : root + sep)
}

function realDir(dir) {
  const path = require('node:path')
  try {
    return require('node:fs').realpathSync(dir)
  } catch {
    return path.resolve(dir)
  }
}

function procTable() {
  const fs = require('node:fs')
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
        return null
      }
    },
    ppid(pid) {
      if (!parents.has(pid)) {
        let ppid = null
        try {
          const stat = fs.readFileSync('/proc/' + pid + '/stat', 'utf8')
          ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
        } catch {}
        parents.set(pid, ppid)
      }
      return parents.get(pid) ?? null
    },
    environ(pid) {
      try {
        return fs.readFileSync('/proc/' + pid + '/environ', 'latin1').split(String.fromCharCode(0))
      } catch {
        return null
      }
    },
  }
}

function descendsFrom(table, pid, root) {
  let current = table.ppid(pid)
  for (let steps = 0; current !== null && current > 1 && steps < 4096; steps++) {
    if (current === root) return true
    current = table.ppid(current)
  }
  return current === root
}

function escapedProcesses(table, root, marker, scope, except) {
  const within = scope.within.filter((dir) => !scope.except.some((live) => insideDir(dir, live)))
  if (within.length === 0 && scope.owner === undefined) return []
  const inScope = (pid) => {
    const cwd = table.cwd(pid)
    if (cwd === null || !within.some((dir) => insideDir(cwd, dir))) return false
    return !scope.except.some((live) => insideDir(cwd, live))
  }
  const markerEntry = 'AGENT_GATEWAY_APP_SERVER=' + marker
  const ownerPrefix = 'AGENT_GATEWAY_THREAD='
  const found = []
  for (const pid of table.pids()) {
    if (pid === root || except.includes(pid)) continue
    if (scope.owner === undefined && !inScope(pid)) continue
    const env = table.environ(pid)
    if (!env || !env.includes(markerEntry)) continue
    const entry = env.find((e) => e.startsWith(ownerPrefix))
    const owner = entry === undefined ? undefined : entry.slice(ownerPrefix.length)
    if (owner !== undefined ? owner !== scope.owner : scope.owner !== undefined && !inScope(pid)) continue
    if (descendsFrom(table, pid, root)) continue
    found.push(pid)
  }
  return found
}
`
