import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs'
import { secretNamesIn } from './secrets.js'

/**
 * Takes the gateway's secrets out of `/proc/<gateway pid>/environ`. That file is the environment block the process
 * was started with, and any process of the same user may read it (no ptrace rights needed): an agent's command that
 * is not OS-confined (claude, gemini, copilot, the `cli` agent, codex in danger-full-access) found there every key,
 * API_TOKENS and DATABASE_URL the gateway was started with. Node's `process.env` reads the live C environment, whose
 * entries still point into that block; each secret entry is first set again (libc copies it to the heap, so
 * `process.env` keeps every value), then its value bytes in the block are overwritten with NULs through
 * `/proc/self/mem` (a process may write its own memory). Linux only; elsewhere, or when the kernel refuses, it
 * reports why and nothing changed.
 */
export function scrubOwnEnviron(
  env: NodeJS.ProcessEnv = process.env,
): { scrubbed: string[] } | { failed: string } {
  if (process.platform !== 'linux') return { failed: `no /proc/self/mem on ${process.platform}` }
  const names = new Set(secretNamesIn(env))
  if (names.size === 0) return { scrubbed: [] }
  let fd: number | undefined
  try {
    const [start, end] = environBounds()
    const block = Buffer.alloc(end - start)
    fd = openSync('/proc/self/mem', 'r+')
    readSync(fd, block, 0, block.length, start)
    const scrubbed: string[] = []
    let at = 0
    while (at < block.length) {
      const nul = block.indexOf(0, at)
      const stop = nul === -1 ? block.length : nul
      const equals = block.indexOf(0x3d, at)
      if (equals > at && equals < stop) {
        const name = block.toString('latin1', at, equals)
        if (names.has(name) && stop > equals + 1) {
          const value = env[name]
          // moved to the heap first: process.env keeps answering with the value the gateway started with
          if (value !== undefined) env[name] = value
          writeSync(fd, Buffer.alloc(stop - equals - 1), 0, stop - equals - 1, start + equals + 1)
          scrubbed.push(name)
        }
      }
      at = stop + 1
    }
    return { scrubbed }
  } catch (err) {
    return { failed: (err as Error).message }
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/** env_start and env_end of /proc/self/stat (fields 50 and 51, after the parenthesised command name). */
function environBounds(): [number, number] {
  const stat = readFileSync('/proc/self/stat', 'latin1')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields[0] is field 3 (state)
  const start = Number(fields[50 - 3])
  const end = Number(fields[51 - 3])
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end <= start)
    throw new Error('/proc/self/stat names no environment block')
  return [start, end]
}
