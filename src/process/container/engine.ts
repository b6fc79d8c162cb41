import type { Readable } from 'node:stream'
import { readText } from '../lines.js'
import { realCwd } from '../pinned-cwd.js'
import { spawnGroup } from '../spawn-group.js'

export interface EngineResult {
  exitCode: number | null
  stdout: string
  stderr: string
}

/** Runs one engine command (`ps`, `rm`, `stop`, `version`) to its end, bounded; never throws. */
export async function engineCommand(
  engine: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<EngineResult> {
  const proc = spawnGroup({
    command: engine,
    args,
    cwd: realCwd(),
    env,
    stdin: null,
    timeoutMs,
    killGraceMs: 1000,
  })
  const collect = async (stream: Readable) => {
    let text = ''
    for await (const t of readText(stream)) text += t
    return text
  }
  const [stdout, stderr, outcome] = await Promise.all([
    collect(proc.stdout).catch(() => ''),
    collect(proc.stderr).catch(() => ''),
    proc.done,
  ])
  return { exitCode: outcome.exitCode, stdout, stderr: outcome.error ?? stderr }
}
