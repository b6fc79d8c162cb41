import { realpathSync, statSync } from 'node:fs'
import path from 'node:path'
import { AppError } from '../protocol/errors.js'

/**
 * Resolves a requested working directory (or, with allowFiles, a file) and confines it to the workspace roots. Symlinks are resolved
 * (realpath) before the check, so a link inside a root that points outside is refused.
 */
export function resolveCwd(
  requested: string | undefined,
  roots: readonly string[],
  opts: { allowFiles?: boolean } = {},
): string {
  const [defaultRoot] = roots
  if (!defaultRoot) throw new AppError('internal', 'no workspace root configured')
  const wanted = requested ? path.resolve(defaultRoot, requested) : defaultRoot
  let real: string
  try {
    real = realpathSync(wanted)
  } catch {
    throw new AppError('invalid_cwd', `cwd "${requested}" does not exist inside the workspace`, {
      cwd: requested,
    })
  }
  if (!opts.allowFiles && !statSync(real).isDirectory())
    throw new AppError('invalid_cwd', `cwd "${requested}" is not a directory`, { cwd: requested })
  for (const root of roots) {
    let realRoot: string
    try {
      realRoot = realpathSync(root)
    } catch {
      continue
    }
    const rel = path.relative(realRoot, real)
    if (rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel))) return real
  }
  throw new AppError(
    'invalid_cwd',
    `cwd "${requested}" is outside the workspace roots (${roots.join(', ')}); symlinks are resolved before this check`,
    { cwd: requested },
  )
}
