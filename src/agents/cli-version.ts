import os from 'node:os'
import { readText } from '../process/lines.js'
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
  const proc = runner.start({
    command: binary,
    args: ['--version'],
    cwd: os.tmpdir(),
    env,
    timeoutMs,
    killGraceMs: 500,
  })
  let out = ''
  const reading = (async () => {
    for await (const text of readText(proc.stdout)) out += text
  })()
  proc.stderr.resume()
  const outcome = await proc.done
  await reading.catch(() => {})
  if (outcome.exitCode !== 0) return null
  return /\d+\.\d+(?:\.\d+)?(?:[-+][\w.]*\w)?/.exec(out)?.[0] ?? null
}
