import { readFile } from 'node:fs/promises'
import path from 'node:path'

/**
 * What the engine kept of a container's output, to make up for what its `run` client lost. podman 4.3's `run`
 * passes on what conmon sends through the container's attach socket, and that can come short for a container
 * whose program ends at once (seen in CI: an agent missing from the image, exit 1 and an empty stderr, where
 * catatonit had written "failed to exec pid1"); conmon writes every byte to the container's log too. So a podman
 * container logs to a file of the runner's own (`--log-driver k8s-file --log-opt path=`, outside what `--rm`
 * removes; bounded by max-size, after which conmon starts the file again), and once the container ended by
 * itself, what its log holds beyond what the client delivered, per stream, is passed on after it.
 */

/** The log file in a launch's private directory (process/staged-dirs.ts). */
export const keptLogFile = (dir: string) => path.join(dir, 'output.log')

/** Most bytes the log keeps before conmon starts it again (what it makes up for is a short-lived program's). */
const keptLogMax = '4mb'

/** The `run` options that keep the container's output in `file`. */
export function keptOutputArgs(file: string): string[] {
  return ['--log-driver', 'k8s-file', '--log-opt', `path=${file}`, '--log-opt', `max-size=${keptLogMax}`]
}

export interface KeptOutput {
  stdout: Buffer
  stderr: Buffer
}

/**
 * The output a k8s-file log holds, per stream: lines `<time> <stdout|stderr> <P|F> <bytes>`, where F ends a line
 * (a line break follows the bytes) and P is a part of one. Empty for a log that is missing.
 */
export async function readKeptOutput(file: string): Promise<KeptOutput> {
  let log: Buffer
  try {
    log = await readFile(file)
  } catch {
    return { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) }
  }
  const parts: Record<'stdout' | 'stderr', Buffer[]> = { stdout: [], stderr: [] }
  let start = 0
  while (start < log.length) {
    let end = log.indexOf(0x0a, start)
    if (end === -1) end = log.length
    const line = log.subarray(start, end)
    start = end + 1
    // `<time> <stream> <tag> ` then the bytes, which may hold spaces of their own
    const first = line.indexOf(0x20)
    const second = line.indexOf(0x20, first + 1)
    const third = line.indexOf(0x20, second + 1)
    if (first < 0 || second < 0 || third < 0) continue
    const stream = line.subarray(first + 1, second).toString()
    if (stream !== 'stdout' && stream !== 'stderr') continue
    const full = line.subarray(second + 1, third).toString() === 'F'
    parts[stream].push(line.subarray(third + 1), ...(full ? [Buffer.from('\n')] : []))
  }
  return { stdout: Buffer.concat(parts.stdout), stderr: Buffer.concat(parts.stderr) }
}

/** What `kept` holds beyond the `delivered` bytes the client passed on (none when it passed on as much). */
export function missedOutput(kept: Buffer, delivered: number): Buffer {
  return kept.length > delivered ? kept.subarray(delivered) : Buffer.alloc(0)
}
