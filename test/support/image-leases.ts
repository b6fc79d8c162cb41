import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { ownerAlive, type ProcessOwner, sameOwner } from './process-owner.js'

/**
 * Which test runs use which image, so pruning (image-prune.ts) never removes one a running suite needs: a run
 * leases its image (`lease-*.json` in the images' state dir: the tag and the run's owner, its vitest process)
 * and drops its leases at teardown; a killed run's leases are dead (their owner is gone) and count no more.
 * Each tag also has a `used-*` file whose mtime is when a run last leased or released it: how long an image
 * has stood unused.
 */
interface Lease {
  tag: string
  owner: ProcessOwner
}

const slug = (tag: string) => createHash('sha256').update(tag).digest('hex').slice(0, 16)
const usedFile = (stateDir: string, tag: string) => path.join(stateDir, `used-${slug(tag)}`)

export function leaseImage(stateDir: string, tag: string, owner: ProcessOwner): void {
  const lease: Lease = { tag, owner }
  const file = path.join(stateDir, `lease-${owner.pid}-${owner.startTime}-${slug(tag)}.json`)
  // written aside and renamed: a pruning run reads a lease whole or not at all
  const aside = `${file}.${process.pid}.new`
  writeFileSync(aside, JSON.stringify(lease))
  renameSync(aside, file)
  markUsed(stateDir, tag)
}

/** Drops the owner's leases (teardown); returns the tags they held. */
export function releaseLeases(stateDir: string, owner: ProcessOwner): string[] {
  const mine = leases(stateDir).filter((l) => sameOwner(l.owner, owner))
  for (const lease of mine) {
    markUsed(stateDir, lease.tag)
    rmSync(lease.file, { force: true })
  }
  return mine.map((l) => l.tag)
}

/** The tags that runs still alive lease; the leases of runs that are gone are deleted. */
export function leasedTags(stateDir: string): Set<string> {
  const live = new Set<string>()
  for (const lease of leases(stateDir)) {
    if (ownerAlive(lease.owner)) live.add(lease.tag)
    else rmSync(lease.file, { force: true })
  }
  return live
}

/** When a run last leased or released `tag` (ms), or undefined if none did. */
export function lastUsed(stateDir: string, tag: string): number | undefined {
  try {
    return statSync(usedFile(stateDir, tag)).mtimeMs
  } catch {
    return undefined
  }
}

export function forgetImage(stateDir: string, tag: string): void {
  rmSync(usedFile(stateDir, tag), { force: true })
}

function markUsed(stateDir: string, tag: string): void {
  const file = usedFile(stateDir, tag)
  const now = new Date()
  try {
    utimesSync(file, now, now)
  } catch {
    writeFileSync(file, `${tag}\n`)
  }
}

function leases(stateDir: string): (Lease & { file: string })[] {
  return readdirSync(stateDir)
    .filter((name) => name.startsWith('lease-') && name.endsWith('.json'))
    .flatMap((name) => {
      const file = path.join(stateDir, name)
      try {
        return [{ ...(JSON.parse(readFileSync(file, 'utf8')) as Lease), file }]
      } catch {
        // removed by another run while we looked
        return []
      }
    })
}
