import { readFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import semver from 'semver'

/**
 * `npm run lint`'s engines check: every package a production install (`npm ci --omit=dev`) puts in node_modules
 * declares an `engines.node` range that the lowest Node of package.json's own `engines.node` (20.19) satisfies,
 * so the gateway's dependencies run on the Node it says it runs on (no EBADENGINE from `npm ci --omit=dev`).
 * It reads package-lock.json. Dev-only entries (`"dev": true`) are left out: some are the agent CLIs the tests
 * drive (@anthropic-ai/claude-code and @agentclientprotocol/claude-agent-acp declare >=22), which run as their own
 * processes and are not installed in production. A package that declares no `engines.node` passes.
 *   tsx scripts/check-engines.ts [directory]   # the directory holding package.json and package-lock.json
 */

interface LockEntry {
  version?: string
  dev?: boolean
  engines?: unknown
}

export interface Lockfile {
  packages?: Record<string, LockEntry>
}

/** The lowest Node version a range allows (`>=20.19` gives 20.19.0). */
export function lowestNode(range: string): string {
  const lowest = semver.minVersion(range)
  if (!lowest) throw new Error(`package.json's engines.node (${range}) allows no version`)
  return lowest.version
}

/** The lock's non-dev packages whose engines.node excludes `node`, one line each: path, version, range. */
export function packagesExcluding(lock: Lockfile, node: string): string[] {
  const found: string[] = []
  for (const [where, entry] of Object.entries(lock.packages ?? {})) {
    if (where === '' || entry.dev) continue
    const range = (entry.engines as { node?: unknown } | undefined)?.node
    if (typeof range !== 'string') continue
    if (!semver.satisfies(node, range)) found.push(`${where}@${entry.version ?? '?'} (engines.node ${range})`)
  }
  return found
}

/** The check on a directory: what fails it (nothing when it passes), and the Node version it checked. */
export function checkEngines(dir: string): { node: string; failures: string[] } {
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
    engines?: { node?: string }
  }
  const range = pkg.engines?.node
  if (!range) throw new Error('package.json declares no engines.node')
  const node = lowestNode(range)
  const lock = JSON.parse(readFileSync(path.join(dir, 'package-lock.json'), 'utf8')) as Lockfile
  return { node, failures: packagesExcluding(lock, node) }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const { node, failures } = checkEngines(process.argv[2] ?? process.cwd())
  if (failures.length > 0) {
    process.stderr.write(
      `check-engines: ${failures.length} production package(s) do not run on Node ${node} (package.json's engines.node):\n` +
        failures.map((f) => `  ${f}\n`).join(''),
    )
    process.exitCode = 1
  }
}
