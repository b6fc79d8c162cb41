import { rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'

/**
 * Whether `dir` takes a write now: a page (4 KiB) written to a file of its own (`.<name>-<pid>`) and removed. The
 * error of a directory that does not (read-only, not ours, its disk full: ENOSPC), or undefined.
 */
export function probeWrite(dir: string, name: string): Error | undefined {
  const probe = path.join(dir, `.${name}-${process.pid}`)
  try {
    writeFileSync(probe, probePage)
    return undefined
  } catch (err) {
    return err as Error
  } finally {
    try {
      rmSync(probe, { force: true })
    } catch {} // not ours to remove: nothing was written
  }
}

const probePage = Buffer.alloc(4096)

/** A probeWrite made: of which directory, and its error (undefined: it took the write). */
export interface WriteProbe {
  dir: string
  error: Error | undefined
}

/** Whether `probe` was made of `dir` (the same directory, however spelled). */
export const probedDir = (probe: WriteProbe | undefined, dir: string): probe is WriteProbe =>
  probe !== undefined && path.resolve(probe.dir) === path.resolve(dir)
