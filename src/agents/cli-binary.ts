import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'

const require = createRequire(import.meta.url)

/**
 * Where a CLI is: the configured path (null when it does not exist), else what `bundled` finds in the pinned
 * npm package, else `name` on PATH.
 */
export function resolveCliBinary(
  configured: string | undefined,
  bundled: () => string | null,
  name: string,
): string | null {
  if (configured) return existsSync(configured) ? path.resolve(configured) : null
  return bundled() ?? findOnPath(name)
}

/** A file inside an installed npm package (`@scope/pkg`, `bin/x`), or null when either is missing. */
export function packageFile(pkg: string, ...parts: string[]): string | null {
  try {
    const file = path.join(path.dirname(require.resolve(`${pkg}/package.json`)), ...parts)
    return existsSync(file) ? file : null
  } catch {
    return null
  }
}

export function findOnPath(name: string, pathVar = process.env.PATH ?? ''): string | null {
  for (const dir of pathVar.split(path.delimiter)) {
    if (!dir) continue
    const candidate = path.join(dir, name)
    if (existsSync(candidate)) return candidate
  }
  return null
}
