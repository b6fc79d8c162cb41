import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import type { RunningServer } from '../src/http/server.js'
import { KeyedRunner } from '../src/process/key-proxy/keyed-runner.js'

/**
 * A driver's argv and env for the direct CLI baseline, as a user runs it: the real key and endpoint. With the key
 * proxy (MODEL_KEY_PROXY) the gateway's drivers write placeholders its runner fills in at start.
 */
export function asUserRunsIt<T extends { args: string[]; env: Record<string, string> }>(
  server: RunningServer,
  launch: T,
): T {
  const runner = server.ctx.registry.runner
  if (!(runner instanceof KeyedRunner)) return launch
  const fill = (s: string) => runner.withRealKeys(s)
  return {
    ...launch,
    args: launch.args.map(fill),
    env: Object.fromEntries(Object.entries(launch.env).map(([k, v]) => [k, fill(v)])),
  }
}

/** What a direct CLI run gave: timings from before the spawn call, its exit code and its output. */
export interface DirectRun {
  totalMs: number
  spawnCallMs: number
  firstStdoutMs: number | null
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Spawns like src/process/spawn-group.ts (own process group, three pipes), writes `stdin`, reads both outputs
 * to the end; the group is killed after `timeoutMs`.
 */
export async function spawnAndRead(
  command: { binary: string; args: string[]; cwd: string; env: NodeJS.ProcessEnv; stdin?: string | null },
  timeoutMs: number,
): Promise<DirectRun> {
  const t0 = performance.now()
  const child: ChildProcessWithoutNullStreams = spawn(command.binary, command.args, {
    cwd: command.cwd,
    env: command.env,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
    windowsHide: true,
  })
  const spawnCallMs = performance.now() - t0
  child.stdin.on('error', () => {})
  if (command.stdin) child.stdin.end(command.stdin)
  else child.stdin.end()
  let firstStdoutMs: number | null = null
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout.on('data', (chunk: Buffer) => {
    firstStdoutMs ??= performance.now() - t0
    out.push(chunk)
  })
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
  const killer = setTimeout(() => {
    if (child.pid !== undefined) killGroup(child.pid)
  }, timeoutMs)
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (c) => resolve(c))
  }).finally(() => clearTimeout(killer))
  const totalMs = performance.now() - t0
  const stdout = Buffer.concat(out).toString('utf8')
  const stderr = Buffer.concat(err).toString('utf8')
  return { totalMs, spawnCallMs, firstStdoutMs, code, stdout, stderr }
}

/** SIGKILLs a process group (a no-op when it is gone already). */
export function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // already gone
  }
}
