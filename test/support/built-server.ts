import { readdirSync, statSync } from 'node:fs'
import path from 'node:path'

const projectRoot = path.resolve(import.meta.dirname, '../..')
/** The built command (`npm ci` builds it: `prepare`; `npm run build`). */
export const builtMain = path.join(projectRoot, 'dist/main.js')

/** The modification times of a file, or of the files under a folder that `keep` keeps (none when missing). */
function mtimes(file: string, keep: (file: string) => boolean = () => true): number[] {
  const stat = statSync(file, { throwIfNoEntry: false })
  if (!stat) return []
  if (!stat.isDirectory()) return [stat.mtimeMs]
  const times: number[] = []
  for (const entry of readdirSync(file, { withFileTypes: true, recursive: true })) {
    const full = path.join(entry.parentPath, entry.name)
    if (entry.isFile() && keep(full)) times.push(statSync(full).mtimeMs)
  }
  return times
}

/**
 * Whether `root`'s dist/ holds the server built from its sources as they are now: dist/main.js exists and every
 * JavaScript file the compiler wrote (dist/web is the console's, built by Vite) is newer than every build input
 * (src/ and the tsconfigs). A checkout edited or switched since its last build is not current: its tests run
 * src/ through tsx, never a stale build.
 */
export function builtIsCurrent(root = projectRoot): boolean {
  const dist = path.join(root, 'dist')
  const web = path.join(dist, 'web') + path.sep
  const built = mtimes(dist, (f) => f.endsWith('.js') && !f.startsWith(web))
  if (!statSync(path.join(dist, 'main.js'), { throwIfNoEntry: false })?.isFile()) return false
  const oldestBuilt = Math.min(...built)
  const inputs = ['src', 'tsconfig.json', 'tsconfig.build.json'].map((p) => path.join(root, p))
  return inputs.every((input) => mtimes(input).every((t) => t < oldestBuilt))
}

/** builtIsCurrent() as global setup found it, for the workers ('1' or '0'): one look per run. */
export const builtVariable = 'AGW_TEST_BUILT_CURRENT'

let current: boolean | undefined
/** builtIsCurrent(), looked at once per run (global setup) or per process (a bench, a script). */
export function useBuilt(): boolean {
  const given = process.env[builtVariable]
  current ??= given === undefined ? builtIsCurrent() : given === '1'
  return current
}
