import { type ChildProcess, spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { testBase } from '../support/temp.js'
import { codexConfigToml } from './codex-config.js'

// Runs the real codex CLI against a mock-llm base URL, in throwaway CODEX_HOME and work dirs.

const repoRoot = fileURLToPath(new URL('../../', import.meta.url))

export const codexBin =
  process.env.CODEX_BIN ??
  join(repoRoot, 'node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex')

export interface CodexExecResult {
  code: number | null
  signal: NodeJS.Signals | null
  /** Parsed JSONL lines of `codex exec --json`. */
  events: Array<Record<string, unknown>>
  stdout: string
  stderr: string
  durationMs: number
}

export class CodexSandbox {
  /** Process-group ids of every codex started here; groups may outlive their leader. */
  private readonly groups = new Set<number>()

  private constructor(
    readonly root: string,
    readonly home: string,
    readonly workdir: string,
  ) {}

  static async create(baseUrl: string): Promise<CodexSandbox> {
    const root = await mkdtemp(join(testBase(), 'mock-llm-codex-'))
    const home = join(root, 'home')
    const workdir = join(root, 'work')
    await mkdir(home)
    await mkdir(workdir)
    await writeFile(join(home, 'config.toml'), codexConfigToml(baseUrl))
    return new CodexSandbox(root, home, workdir)
  }

  /** Spawn codex in its own process group (stdin closed), tracked so dispose() can kill it. */
  spawn(args: string[], stdin: 'ignore' | 'pipe' = 'ignore'): ChildProcess {
    const child = spawn(codexBin, args, {
      cwd: this.workdir,
      env: { ...process.env, HOME: this.home, MOCK_KEY: 'mock-key', CODEX_HOME: this.home },
      detached: true,
      stdio: [stdin, 'pipe', 'pipe'],
    })
    if (child.pid !== undefined) this.groups.add(child.pid)
    return child
  }

  /** `codex exec --json` with one prompt; resolves when codex exits (killed after timeoutMs). */
  exec(prompt: string, timeoutMs = 25_000): Promise<CodexExecResult> {
    const started = Date.now()
    const child = this.spawn(['exec', '--json', '--skip-git-repo-check', '-s', 'workspace-write', prompt])
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8')
    })
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8')
    })
    const timer = setTimeout(() => killGroup(child.pid), timeoutMs)
    return new Promise((resolve, reject) => {
      child.on('error', (error) => {
        clearTimeout(timer)
        reject(error)
      })
      child.on('close', (code, signal) => {
        clearTimeout(timer)
        resolve({
          code,
          signal,
          events: parseJsonLines(stdout),
          stdout,
          stderr,
          durationMs: Date.now() - started,
        })
      })
    })
  }

  /** Kill every codex still running (whole process groups) and delete the temp dirs. */
  async dispose(): Promise<void> {
    for (const group of this.groups) killGroup(group)
    this.groups.clear()
    await rm(this.root, { recursive: true, force: true })
  }
}

/** SIGKILL a whole process group; a group that is already gone is fine. */
export function killGroup(pid: number | undefined): void {
  if (pid === undefined) return
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {}
}

export function parseJsonLines(text: string): Array<Record<string, unknown>> {
  return text.split('\n').flatMap((line) => {
    if (!line.trim().startsWith('{')) return []
    try {
      return [JSON.parse(line) as Record<string, unknown>]
    } catch {
      return []
    }
  })
}
