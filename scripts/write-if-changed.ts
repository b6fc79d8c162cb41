import { readFileSync, writeFileSync } from 'node:fs'

/**
 * Writes `text` to `file` only when it differs from what the file holds, so that a generator run again over
 * unchanged inputs leaves the file's mtime alone: a rewritten src/client/generated/schema.ts made dist/ look
 * older than src/ (test/support/built-server.ts), and the e2e tests of a checkout ran src/ through tsx. Whether
 * it wrote.
 */
export function writeIfChanged(file: string, text: string): boolean {
  let current: string | undefined
  try {
    current = readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  if (current === text) return false
  writeFileSync(file, text)
  return true
}
