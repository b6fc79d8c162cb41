import { pinnedCwdSource } from './pinned-cwd-source.js'
import { procScanSource } from './proc-scan-source.js'
import { markerVariable } from './process-marker.js'
import { serverMarkerVariable } from './server-marker.js'

/**
 * The spawn host's code (plain CommonJS, run as `node -e <source>` with an IPC channel, so it runs the same under
 * tsx, vitest and the built server). For each request it connects three unix sockets to the gateway's listener
 * (`AGENT_GATEWAY_SPAWN_SOCKET`), each announcing `token + role` (0 stdin, 1 stdout, 2 stderr), gives them to the
 * child as its stdio, closes its own ends and reports `{ id, pid }` (or `{ id, error }`), later
 * `{ id, code, signal }` when the child exited. It says `{ ready: true }` once it listens for requests. The
 * sockets stay paused here: nothing the gateway writes for the child is read by this process.
 *
 * It lives as long as its IPC channel: when the gateway is gone (it exited, or was killed), every child still
 * running is killed with its process group, and so is every process that carries the gateway's marker
 * (`AGENT_GATEWAY_SPAWN_MARKER`, its value of AGENT_GATEWAY_SERVER: what the children started in groups or
 * sessions of their own), and the host exits. A gateway that lets the host go (its stop) says so first
 * (`{ release: true }`): it lives on, and its processes are its own to end. Signals meant for the gateway's whole process
 * group (a terminal's Ctrl-C, a service manager's SIGTERM) are left to the gateway, which ends its children and
 * then this host.
 *
 * It also runs the gateway's sweeps of ended programs' leftovers (marker-sweeps.ts), so that no /proc scan runs on
 * the gateway's event loop: `{ signalMarked: { id, signals, since, windows } }` (marker -> signal, 0 for a look) signals every process
 * whose pid was given out since the `windows`' leaders' (pid-window.ts; when they bound nothing, or are absent:
 * every process started since `since`, clock ticks, 0: any) that carries one of those markers in AGENT_GATEWAY_APP_SERVER (or a name ending in _AGENT_GATEWAY_APP_SERVER), and
 * is answered `{ signalled: id, found }`, the markers found; such a pass runs in slices that let a spawn requested
 * meanwhile go first (a run's first line must not wait for the previous run's sweep). And the scan for what escaped a long-lived agent's
 * process tree after one of its turns (escaped-processes.ts): `{ signalEscaped: { id, root, marker, scope, signal } }`
 * signals the processes escapedProcesses finds, never this host nor its gateway, and is answered
 * `{ escaped: id, count }`. Both scans are proc-scan-source.ts's, which the gateway also runs on its own thread
 * when it has no host: one text for both.
 */
export const spawnHostSource = `${procScanSource}
${pinnedCwdSource}
const { spawn } = require('node:child_process')
const net = require('node:net')

const socketPath = process.env.AGENT_GATEWAY_SPAWN_SOCKET
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => {})
closeInheritedFds()

/**
 * Every child would inherit the descriptors this process got from the gateway without close-on-exec (a pipe or
 * socket of whatever started the gateway: a supervisor, a shell, a test runner): they are closed, so a child has
 * its three stdio sockets and nothing else. Node's own descriptors (its IPC channel among them) are close-on-exec
 * (O_CLOEXEC, 02000000 in /proc/self/fdinfo's octal flags); fd 3, the IPC channel, is kept in any case.
 */
function closeInheritedFds() {
  let names
  try {
    names = fs.readdirSync('/proc/self/fd')
  } catch {
    return
  }
  for (const name of names) {
    const fd = Number(name)
    if (fd <= 3) continue
    try {
      const flags = /^flags:\\s*([0-7]+)/m.exec(fs.readFileSync('/proc/self/fdinfo/' + name, 'utf8'))
      if (flags && (parseInt(flags[1], 8) & 0o2000000) === 0) fs.closeSync(fd)
    } catch {}
  }
}

// the listener's backlog is full while the gateway is busy: wait for it (up to ~10 s), do not fail the spawn
const busyRetries = 1000
const busyRetryMs = 10

function connect(announce, attempt = 0) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath)
    let connected = false
    socket.pause()
    socket.on('error', (err) => {
      if (connected) return
      socket.destroy()
      if (err.code !== 'EAGAIN' || attempt >= busyRetries) return reject(err)
      setTimeout(() => connect(announce, attempt + 1).then(resolve, reject), busyRetryMs)
    })
    socket.once('connect', () => {
      connected = true
      socket.write(announce, () => resolve(socket))
    })
  })
}

function report(message) {
  // with a callback a send that fails (the gateway died meanwhile: EPIPE) is not an uncaught 'error'; the
  // 'disconnect' below ends the host
  if (process.connected) process.send(message, () => {})
}

function failed(id, err) {
  report({ id, error: { code: err.code, message: String(err.message) } })
}

/** Children still running, by pid: their groups are killed if the gateway goes away. */
const running = new Set()

/** The gateway let this host go (its stop): it lives on and ends its own processes. */
let released = false

process.on('disconnect', () => {
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL')
    } catch {}
  }
  if (!released) killMarked()
  process.exit(0)
})

/**
 * The gateway is gone (killed: no stop of its own ran): what its children started outside their groups (codex's
 * shell snapshot, a command's daemon in a session of its own) is found by the gateway's marker, which every
 * descendant of a child carries (server-marker.ts), and killed; again while a pass finds one (a fork meanwhile).
 */
function killMarked() {
  const marker = process.env.AGENT_GATEWAY_SPAWN_MARKER
  if (!marker) return
  const signals = new Map([[marker, 'SIGKILL']])
  for (let pass = 0; pass < 10; pass++) if (signalMarked('${serverMarkerVariable}', signals, []).size === 0) return
}

// one spawn at a time: spawn() blocks this process anyway, and a burst must not overflow the listener's backlog
let queue = Promise.resolve()
// spawns queued or under way: a sweep lets them go first
let spawning = 0
// one sweep at a time (the gateway sends one pass at a time anyway)
let sweeps = Promise.resolve()

// processes whose environment a sweep reads between two looks for spawns (each read ~10-30 us, more under load)
const sweepSlice = 32

/**
 * signalMarked (proc-scan-source.ts) in slices, a run's spawn going first: a spawn request that comes while a pass
 * runs (the previous run's end sends one, under load 0.1-1.6 s of reads) is started at the next slice's end, not
 * after the pass. It scans what /proc lists again at its end, as long as that lists processes it has not read
 * (some may have been forked meanwhile), so it finds at least what the one-go pass found.
 */
async function signalMarkedInSlices(variable, markers, except, since, windows) {
  const table = procTable()
  const found = new Set()
  const seen = new Set([process.pid, ...except])
  // a poll of the IPC channel first: a spawn sent right after this pass's request is read before any slice
  await afterPoll()
  for (let round = 0; round < 10; round++) {
    const listed = table.pids()
    // read after the listing: it bounds every pid listed (pid-window.ts); the others are left unread
    const inWindow = windowTest(windows)
    const pids = listed.filter((pid) => !seen.has(pid) && (!inWindow || inWindow(pid)))
    if (pids.length === 0) break
    for (let i = 0; i < pids.length; i++) {
      if (i > 0 && i % sweepSlice === 0) await afterPoll()
      const pid = pids[i]
      seen.add(pid)
      signalIfMarked(table, pid, variable, markers, found, inWindow ? 0 : since)
    }
  }
  return found
}

/** Resolves after the event loop polled (IPC read) and every spawn queued by then was started. */
async function afterPoll() {
  // an immediate set in the check phase runs in the next one: a poll comes between
  await new Promise((resolve) => setImmediate(resolve))
  await new Promise((resolve) => setImmediate(resolve))
  if (spawning > 0) await queue
}
process.on('message', (request) => {
  if (request.release) {
    released = true
    return
  }
  // the gateway's sweep of ended programs' leftovers, by their markers (marker-sweeps.ts): here, not on its loop
  if (request.signalMarked) {
    const { id, signals, since, windows } = request.signalMarked
    // never the gateway itself (a gateway run by another one's run carries that run's marker, not its own)
    const pass = () =>
      signalMarkedInSlices('${markerVariable}', new Map(Object.entries(signals)), [process.ppid], since ?? 0, windows)
    sweeps = sweeps.then(pass).then((found) => report({ signalled: id, found: [...found] }))
    return
  }
  // what escaped a long-lived agent's tree after one of its turns (escaped-processes.ts), with the scope of now
  if (request.signalEscaped) {
    const { id, root, marker, scope, signal } = request.signalEscaped
    return report({ escaped: id, count: signalEscaped(root, marker, scope, signal, [process.ppid]) })
  }
  spawning++
  queue = queue
    .then(() => start(request))
    .catch((err) => failed(request.id, err))
    .finally(() => spawning--)
})

report({ ready: true })

async function start({ id, token, command, args, cwd, env }) {
  const connecting = await Promise.allSettled([0, 1, 2].map((role) => connect(token + role)))
  const sockets = connecting.filter((c) => c.status === 'fulfilled').map((c) => c.value)
  const refused = connecting.find((c) => c.status === 'rejected')
  if (refused) {
    for (const socket of sockets) socket.destroy()
    return failed(id, refused.reason)
  }
  let child
  try {
    // in the directory cwd names now, held open: a symlink swapped in later is not followed (pinned-cwd-source.ts)
    child = spawnPinned(spawn, command, args, {
      cwd,
      env,
      detached: true,
      stdio: sockets.map((socket) => socket._handle.fd),
      windowsHide: true,
    })
  } catch (err) {
    return failed(id, err)
  } finally {
    for (const socket of sockets) socket.destroy()
  }
  if (child.pid === undefined) return child.once('error', (err) => failed(id, err))
  const pid = child.pid
  running.add(pid)
  child.on('error', () => {})
  report({ id, pid })
  child.once('exit', (code, signal) => {
    running.delete(pid)
    report({ id, code, signal })
  })
}
`
