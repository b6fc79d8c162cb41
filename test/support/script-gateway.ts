import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'

/** A module of this checkout (`src/process/spawn-host.ts`) as the file URL a script imports it by. */
export const moduleUrl = (file: string): string => JSON.stringify(pathToFileURL(path.resolve(file)).href)

/** A stand-in gateway of a test: a TypeScript module run as a node process of its own, for the test to kill. */
export interface ScriptGateway {
  child: ChildProcess
  /** The first line it printed (what it made: a path, a pid); rejects if it exited before printing one. */
  firstLine: Promise<string>
  /** SIGKILL, as a gateway dies in an out-of-memory kill: no exit handler runs. Resolves once it is gone. */
  kill(): Promise<void>
}

/**
 * Writes `source` to `<dir>/gateway.mts` and runs it (node --import tsx) with this process's environment plus
 * `env`, its stdout read by line and its stderr this process's. It stays alive after its top level ran
 * (a timer), as a gateway does, until `kill()`.
 */
export function startScriptGateway(
  dir: string,
  source: string,
  env: Record<string, string> = {},
): ScriptGateway {
  const script = path.join(dir, 'gateway.mts')
  writeFileSync(script, `${source}\nsetInterval(() => {}, 1000)\n`)
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = once(child, 'exit')
  const firstLine = Promise.race([
    once(createInterface({ input: child.stdout! }), 'line').then(([line]) => line as string),
    exited.then(([code, signal]) => {
      throw new Error(`the script gateway exited (${code ?? signal}) before it printed a line`)
    }),
  ])
  firstLine.catch(() => {})
  return {
    child,
    firstLine,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
  }
}
