import { readFileSync } from 'node:fs'
import path from 'node:path'
import { collectOutput } from '../process/collect-output.js'
import { placeholderPattern } from '../process/key-proxy/model-access.js'
import { realCwd } from '../process/pinned-cwd.js'
import type { ProcessRunner } from '../process/runner.js'

/**
 * Runs `<binary> --version` (bounded) and returns the first version number it prints ("codex-cli 0.169.0",
 * "2.1.330 (Claude Code)", "GitHub Copilot CLI 1.0.102." all work), or null when it cannot run. It runs without
 * the variables that name a model key or URL: a version needs neither, and a key lent for it would start the
 * key proxy's thread (and a proxy that cannot start would make the CLI look not installed).
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
    cwd: realCwd(),
    env: withoutModelAccess(env),
    timeoutMs,
    killGraceMs: 500,
  })
  if (outcome.exitCode !== 0) return null
  return /\d+\.\d+(?:\.\d+)?(?:[-+][\w.]*\w)?/.exec(out)?.[0] ?? null
}

function withoutModelAccess(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([, value]) => !value.match(placeholderPattern)))
}

/**
 * The version of the npm package a CLI binary belongs to, when that package is one of `packages`: the
 * package.json next to (or above) the binary, read in a millisecond where `--version` starts a whole CLI
 * (gemini: about a second of CPU; copilot unpacks itself on its first start). Null for any other binary
 * (a configured wrapper, one on PATH): those are asked with `--version`.
 */
export function packageVersionOf(binary: string, packages: readonly string[]): string | null {
  if (packages.length === 0) return null
  for (let dir = path.dirname(binary); ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: unknown
        version?: unknown
      }
      return typeof pkg.name === 'string' && packages.includes(pkg.name) && typeof pkg.version === 'string'
        ? pkg.version
        : null
    } catch {
      // no package.json here (or not readable): look one level up, up to the root
    }
    if (path.dirname(dir) === dir) return null
  }
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
