import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { ownerAlive, type ProcessOwner } from './process-owner.js'
import { killAll, processesUnder } from './processes.js'

/**
 * A run's temp root (`agw-tests-*` in the temp dir: every test directory of its workers is under it) with
 * `owner.json`, the run's vitest process, written right after the directory is made. A run killed before
 * its teardown leaves its root behind, and maybe agents still running in it and their containers; the next
 * run removes them (removeOrphanedRoots).
 */
const prefix = 'agw-tests-'
const ownerFile = 'owner.json'

/** A root made before roots had an owner file is taken for orphaned once this old (no run lasts it). */
export const unownedMaxAgeMs = 3 * 3600_000

export function makeSuiteRoot(tmp: string, owner: ProcessOwner): string {
  const root = mkdtempSync(path.join(tmp, prefix))
  writeFileSync(path.join(root, ownerFile), JSON.stringify(owner))
  return root
}

/** The id that names a run's container instances (containers.ts), from its root. */
export function suiteId(root: string): string {
  return path
    .basename(root)
    .replace(/[^a-zA-Z0-9]/g, '')
    .toLowerCase()
}

/**
 * The roots under tmp whose owner is gone (ended, or its pid reused) and unowned ones older than
 * unownedMaxAgeMs: what processes still run in them are killed (agents of a killed run), then each is
 * deleted. Returns the roots removed; `removeContainers` is given their suite ids first, so the caller
 * removes their containers (it lists them only when there is such a root).
 */
export async function removeOrphanedRoots(
  tmp: string,
  removeContainers: (suiteIds: string[]) => Promise<void>,
  now = Date.now(),
): Promise<string[]> {
  const orphaned = readdirSync(tmp)
    .filter((name) => name.startsWith(prefix))
    .map((name) => path.join(tmp, name))
    .filter((root) => isOrphaned(root, now))
  if (orphaned.length === 0) return []
  await removeContainers(orphaned.map(suiteId))
  for (const root of orphaned) {
    killAll(processesUnder(root))
    rmSync(root, { recursive: true, force: true })
  }
  return orphaned
}

function isOrphaned(root: string, now: number): boolean {
  try {
    const owner = JSON.parse(readFileSync(path.join(root, ownerFile), 'utf8')) as ProcessOwner
    return !ownerAlive(owner)
  } catch {
    try {
      return now - statSync(root).mtimeMs >= unownedMaxAgeMs
    } catch {
      return false
    }
  }
}
