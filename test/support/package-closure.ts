import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'

interface PackageJson {
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  peerDependenciesMeta?: Record<string, { optional?: boolean }>
}

/** The directory of `name` as Node's lookup finds it from `fromDir` (node_modules of it and each parent). */
function resolvePackageDir(name: string, fromDir: string): string | null {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name)
    if (existsSync(path.join(candidate, 'package.json'))) return candidate
    if (dir === path.dirname(dir)) return null
  }
}

/**
 * The installed directories a package needs at run time: itself, its dependencies and its required peers,
 * transitively, as this machine's node_modules resolves them. Optional dependencies (platform binaries)
 * are left out: the image provides those natively.
 */
export function packageClosure(rootDir: string): string[] {
  const seen = new Set<string>()
  const visit = (dir: string) => {
    if (seen.has(dir)) return
    seen.add(dir)
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as PackageJson
    const peers = Object.keys(pkg.peerDependencies ?? {}).filter(
      (name) => !pkg.peerDependenciesMeta?.[name]?.optional,
    )
    for (const name of [...Object.keys(pkg.dependencies ?? {}), ...peers]) {
      const found = resolvePackageDir(name, dir)
      if (found) visit(found)
    }
  }
  visit(rootDir)
  return [...seen]
}
