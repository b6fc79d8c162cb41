import { realpathSync, statSync } from 'node:fs'

/** One realpath(3) call, not an lstat per path component (checked before every turn). */
const realpath = realpathSync.native

import path from 'node:path'
import { AppError } from '../protocol/errors.js'

/**
 * Resolves a requested working directory (or, with allowFiles, a file) and confines it to the workspace roots. Symlinks are resolved
 * (realpath) before the check, so a link inside a root that points outside is refused. `what` names it in the
 * refusal (`cwd`, `image`); a relative path is under `base` (default: the first root).
 */
export function resolveCwd(
  requested: string | undefined,
  roots: readonly string[],
  opts: { allowFiles?: boolean; what?: string; base?: string } = {},
): string {
  const [defaultRoot] = roots
  if (!defaultRoot) throw new AppError('internal', 'no workspace root configured')
  const what = opts.what ?? 'cwd'
  const base = opts.base ?? defaultRoot
  const wanted = requested ? path.resolve(base, requested) : defaultRoot
  // A path that does not exist and one outside the roots get the same refusal: telling them apart would let a
  // client probe which paths exist anywhere on the server (directly, or through a symlink inside a root).
  let real: string | undefined
  try {
    real = realpath(wanted)
  } catch {}
  if (real === undefined || !insideRoots(real, roots))
    throw new AppError(
      'invalid_cwd',
      `${what} "${requested}" is outside the workspace roots or does not exist (relative paths are under ${base}; symlinks are resolved before this check); ${rootsHint(roots, what)}`,
      { [what]: requested, workspaceRoots: roots },
    )
  if (!opts.allowFiles && !statSync(real).isDirectory())
    throw new AppError(
      'invalid_cwd',
      `${what} "${requested}" is not a directory; ${rootsHint(roots, what)}`,
      {
        [what]: requested,
        workspaceRoots: roots,
      },
    )
  return real
}

/** Whether a real path is one of the workspace roots or under one. */
export function insideRoots(real: string, roots: readonly string[]): boolean {
  for (const root of roots) {
    const realRoot = realRootOf(root)
    if (realRoot === undefined) continue
    const rel = path.relative(realRoot, real)
    if (rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel))) return true
  }
  return false
}

/**
 * The real path of each workspace root, resolved once it exists and kept: the operator's roots are fixed for the
 * server's life, and a cwd is resolved anew for every turn. A root later replaced (by a symlink elsewhere) keeps
 * confining to where it was: a cwd under the new target is refused, which fails closed.
 */
const realRoots = new Map<string, string>()

function realRootOf(root: string): string | undefined {
  let real = realRoots.get(root)
  if (real === undefined) {
    try {
      real = realpath(root)
    } catch {
      return undefined
    }
    realRoots.set(root, real)
  }
  return real
}

/** Names the roots a cwd may be in and the settings that change them. */
function rootsHint(roots: readonly string[], what: string): string {
  return `the ${what} must be inside one of the workspace roots: ${[...new Set(roots)].join(', ')} (WORKSPACE_DIR is the default root; add more with WORKSPACE_ROOTS=/path/one,/path/two)`
}
