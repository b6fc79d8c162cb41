/**
 * The spawn worker's code (plain CommonJS, run with `new Worker(source, { eval: true })`, so it runs the same
 * under tsx, vitest and the built server). For each request it connects three unix sockets to the main
 * thread's listener (`workerData.path`), each announcing `token + role` (0 stdin, 1 stdout, 2 stderr), gives
 * them to the child as its stdio, closes its own ends and reports `{ id, pid }` (or `{ id, error }`), later
 * `{ id, code, signal }` when the child exited. The sockets stay paused here: nothing the main thread writes
 * for the child is read by this thread.
 */
export const spawnWorkerSource = `
const { parentPort, workerData } = require('node:worker_threads')
const { spawn } = require('node:child_process')
const net = require('node:net')

// the listener's backlog is full while the main thread is busy: wait for it (up to ~10 s), do not fail the spawn
const busyRetries = 1000
const busyRetryMs = 10

function connect(announce, attempt = 0) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(workerData.path)
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

function failed(id, err) {
  parentPort.postMessage({ id, error: { code: err.code, message: String(err.message) } })
}

// one spawn at a time: spawn() blocks this thread anyway, and a burst must not overflow the listener's backlog
let queue = Promise.resolve()
parentPort.on('message', (request) => {
  queue = queue.then(() => start(request)).catch((err) => failed(request.id, err))
})

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
    child = spawn(command, args, {
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
  child.on('error', () => {})
  parentPort.postMessage({ id, pid: child.pid })
  child.once('exit', (code, signal) => parentPort.postMessage({ id, code, signal }))
}
`
