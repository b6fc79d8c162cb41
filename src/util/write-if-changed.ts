import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import path from 'node:path'

/**
 * Writes `text` to `file` (its directory made) only when the file does not already hold it, through a temporary
 * file renamed over it: a process reading (or running) it meanwhile sees the old or the new content, never half of
 * one. `mode` exactly, whatever the umask.
 */
export function writeIfChanged(file: string, text: string, mode: number): void {
  let current: string | undefined
  try {
    current = readFileSync(file, 'utf8')
  } catch {
    current = undefined
  }
  if (current === text) return
  mkdirSync(path.dirname(file), { recursive: true })
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, text, { mode })
  chmodSync(tmp, mode)
  renameSync(tmp, file)
}
