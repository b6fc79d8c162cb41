import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdirSync, symlinkSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { builtMain, useBuilt } from './built-server.js'
import { listProcesses, type ProcInfo } from './processes.js'

const root = path.resolve(import.meta.dirname, '../..')
/** tsx's loader as a file URL, so the server runs as ONE node process (no tsx wrapper) from any cwd. */
const tsxLoader = import.meta.resolve('tsx')

export interface ServerProcess {
  child: ChildProcess
  url: string
  output: string[]
  stop(signal?: NodeJS.Signals): Promise<number | null>
  /** The first line it wrote, or writes later, that contains `text` (rejects if it exits first). */
  logged(text: string): Promise<string>
}

/**
 * Node's arguments that run `agent-gateway <args>`: the built command (what `npm start` runs) when dist/ is built
 * from the sources as they are (built-server.ts: `npm ci` builds it), else src/main.ts through tsx's loader, which
 * costs about a second more CPU per start (it compiles as it loads).
 */
export function gatewayCommand(args: string[], tmpdir?: string): string[] {
  if (useBuilt()) return [builtMain, ...args]
  shareTsxCache(tmpdir)
  return ['--import', tsxLoader, path.join(root, 'src/main.ts'), ...args]
}

/**
 * Starts `agent-gateway serve` as a real OS process (gatewayCommand) and waits for its "listening" log line.
 * Resolves with the exit if it refuses to start.
 */
export function startServerProcess(
  env: Record<string, string | undefined>,
  cwd: string,
  /** How long it may take to say it listens (several processes starting on a busy machine need more). */
  startTimeoutMs = 60_000,
  /** More arguments after `serve` (e.g. `--role worker`). */
  args: string[] = [],
  /** Another OS user to run it as (the test runs as root; a deployment does not). */
  user?: { uid: number; gid: number },
  /**
   * A host name of its own (a UTS namespace: `unshare --uts`, as root), so that other nodes take it for a node on
   * another machine; the same process (unshare and sh exec the server), the same network.
   */
  hostname?: string,
): Promise<ServerProcess | { exitCode: number | null; output: string[] }> {
  const command = gatewayCommand(['serve', ...args], user ? undefined : env.TMPDIR)
  const [file, argv] = hostname
    ? ['unshare', ['--uts', 'sh', '-c', 'hostname "$0" && exec "$@"', hostname, process.execPath, ...command]]
    : [process.execPath, command]
  const child = spawn(file, argv, {
    cwd,
    env: { ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(user ?? {}),
  })
  const output: string[] = []
  const awaited = new Set<{ text: string; found: (line: string) => void }>()
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const logged = (text: string) => {
    const line = output.find((l) => l.includes(text))
    if (line !== undefined) return Promise.resolve(line)
    return new Promise<string>((resolve, reject) => {
      const wait = { text, found: resolve }
      awaited.add(wait)
      void exited.then((code) => {
        if (awaited.delete(wait)) reject(new Error(`the server exited (${code}) before it logged "${text}"`))
      })
    })
  }
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    return exited
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop('SIGKILL')
      reject(new Error(`server did not start in time:\n${output.join('\n')}`))
    }, startTimeoutMs)
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        output.push(line)
        for (const wait of awaited)
          if (line.includes(wait.text)) {
            awaited.delete(wait)
            wait.found(line)
          }
        const url = /"url":"(http:\/\/[^"]+)"/.exec(line)?.[1]
        if (url && line.includes('agent-gateway listening')) {
          clearTimeout(timer)
          resolve({ child, url, output, stop, logged })
        }
      })
    }
    void exited.then((exitCode) => {
      clearTimeout(timer)
      resolve({ exitCode, output })
    })
  })
}

/**
 * tsx keeps what it compiled in TMPDIR/tsx-<uid>: a server given a TMPDIR of its own (for its agents) would compile
 * all of src again (about 1 s of CPU per start). Its TMPDIR gets a link to this process's cache instead.
 */
function shareTsxCache(tmpdir: string | undefined): void {
  if (!tmpdir || path.resolve(tmpdir) === path.resolve(os.tmpdir())) return
  const name = `tsx-${process.geteuid?.() ?? os.userInfo().username}`
  const link = path.join(tmpdir, name)
  if (!existsSync(tmpdir)) return
  const cache = path.join(os.tmpdir(), name)
  mkdirSync(cache, { recursive: true, mode: 0o700 })
  try {
    symlinkSync(cache, link)
  } catch (err) {
    // linked by an earlier start with this TMPDIR
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
}

/**
 * The server's spawn host (src/process/spawn-host.ts): its child whose code names the spawn socket. The server's
 * agents are the host's children, not the server's.
 */
export function spawnHostOf(server: ServerProcess): number | undefined {
  return listProcesses().find(
    (p) => p.ppid === server.child.pid && p.cmd.includes('AGENT_GATEWAY_SPAWN_SOCKET'),
  )?.pid
}

/** The processes the server started: children of its spawn host (or its own, where it spawned them itself). */
export function spawnedBy(server: ServerProcess, within: ProcInfo[]): ProcInfo[] {
  const host = spawnHostOf(server)
  return within.filter((p) => p.ppid === server.child.pid || (host !== undefined && p.ppid === host))
}
