import os from 'node:os'
import { collectOutput } from '../process/collect-output.js'
import type { ProcessRunner } from '../process/runner.js'

/**
 * Runs `<binary> --version` (bounded) and returns the first version number it prints ("codex-cli 0.169.0",
 * "2.1.330 (Claude Code)", "GitHub Copilot CLI 1.0.102." all work), or null when it cannot run.
 */
export async function readCliVersion(
  runner: ProcessRunner,
  binary: string,
  env: Record<string, string>,
  timeoutMs = 15_000,
): Promise<string | null> {
  const { outcome, text: out } = await collectOutput(runner, {
    command: binary,
    args: ['--version'],
    cwd: os.tmpdir(),
    env,
    timeoutMs,
    killGraceMs: 500,
  })
  if (outcome.exitCode !== 0) return null
  return /\d+\.\d+(?:\.\d+)?(?:[-+][\w.]*\w)?/.exec(out)?.[0] ?? null
}

/**
 * A CLI's version, read once. A failed read (null) is tried again after `retryMs`: on a busy machine
 * `--version` can time out, and that must not leave the agent "not installed" until the server restarts.
 */
export class CliVersionCache {
  private pending: Promise<string | null> | undefined
  private failedAt: number | null = null

  constructor(
    private readonly read: () => Promise<string | null>,
    private readonly retryMs = 30_000,
  ) {}

  async get(): Promise<string | null> {
    if (
      this.pending === undefined ||
      (this.failedAt !== null && Date.now() - this.failedAt >= this.retryMs)
    ) {
      this.failedAt = null
      this.pending = this.read()
    }
    const version = await this.pending
    if (version === null) this.failedAt ??= Date.now()
    return version
  }
}
