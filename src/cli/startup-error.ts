import { ConfigError } from '../config/config-error.js'
import { fullDisk } from '../util/disk-full.js'
import { UsageError } from './command.js'

/**
 * A start-up failure as one line for a person, plus the exit code: a bad setting (78, EX_CONFIG), a bad
 * invocation (2), a port in use or not allowed, a full disk (1). Anything else is unexpected and keeps its stack.
 */
export function describeStartupError(err: unknown): { message: string; exitCode: number } {
  if (err instanceof UsageError) return { message: err.message, exitCode: 2 }
  if (err instanceof ConfigError) return { message: err.message, exitCode: 78 }
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number }
  if (e?.code === 'EADDRINUSE')
    return {
      message: `port ${e.port ?? '?'} on ${e.address ?? 'this host'} is already in use: stop whatever listens there, or set PORT to a free port (PORT=0 picks one)`,
      exitCode: 1,
    }
  if (e?.code === 'EACCES' && e.syscall === 'listen')
    return {
      message: `not allowed to listen on port ${e.port ?? '?'}: ports below 1024 need privileges; set PORT to 1024 or above`,
      exitCode: 1,
    }
  if (e?.code === 'EADDRNOTAVAIL')
    return {
      message: `cannot listen on ${e.address ?? 'that address'}: it is not an address of this machine; fix HOST`,
      exitCode: 1,
    }
  const full = fullDisk(e)
  if (full === 'postgres')
    return {
      message: `the disk of the PostgreSQL server (DATABASE_URL) is full (${e.message}): free space on the database server's disk, or grow its volume, then start again`,
      exitCode: 1,
    }
  if (full)
    return {
      message: `the disk that holds the store is full (${e.message}): free space in DATA_DIR, or grow its volume, then start again`,
      exitCode: 1,
    }
  if (
    e?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ||
    e?.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' ||
    e?.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' // `npm start 9000`
  )
    return { message: `${e.message} (see --help)`, exitCode: 2 }
  return { message: err instanceof Error ? (err.stack ?? err.message) : String(err), exitCode: 1 }
}
