import os from 'node:os'
import { readText } from '../../process/lines.js'
import { spawnGroup } from '../../process/spawn-group.js'

/** Runs `copilot --version` (bounded): "GitHub Copilot CLI 1.0.102." -> "1.0.102"; null when it cannot run. */
export async function readCopilotVersion(
  binary: string,
  env: Record<string, string>,
): Promise<string | null> {
  const proc = spawnGroup({
    command: binary,
    args: ['--version'],
    cwd: os.tmpdir(),
    env,
    timeoutMs: 15_000,
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
  return /\d+\.\d+\.\d+(?:[-+][\w.]+)?/.exec(out)?.[0] ?? null
}
