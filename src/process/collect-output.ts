import { readText } from './lines.js'
import type { LaunchSpec, ProcessOutcome, ProcessRunner } from './runner.js'

/** Runs `spec` to its end and returns the text of one of its streams (the other is drained) with the outcome. */
export async function collectOutput(
  runner: ProcessRunner,
  spec: LaunchSpec,
  from: 'stdout' | 'stderr' = 'stdout',
): Promise<{ outcome: ProcessOutcome; text: string }> {
  const proc = runner.start(spec)
  let text = ''
  const reading = (async () => {
    for await (const chunk of readText(proc[from])) text += chunk
  })()
  ;(from === 'stdout' ? proc.stderr : proc.stdout).resume()
  const outcome = await proc.done
  await reading.catch(() => {})
  return { outcome, text }
}
