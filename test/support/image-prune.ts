import { execFileSync, spawnSync } from 'node:child_process'
import type { ImageEngine } from './image-import.js'
import { forgetImage, lastUsed, leasedTags } from './image-leases.js'

/** A labelled image as `podman images --format json` lists it. */
export interface ImageEntry {
  id: string
  /** Its tags; none for a dangling image (its tag went to a later import). */
  names: string[]
  /** ms since the epoch. */
  created: number
  /** Containers (running or not) made from it. */
  containers: number
}

export interface PruneFacts {
  /** The images carrying the recipe's label. */
  images: ImageEntry[]
  /** The recipe's repository: only its tags are removed. */
  repo: string
  /** Tags in use: this run's and the ones live runs lease. */
  leased: ReadonlySet<string>
  /** When a run last leased or released a tag (ms). */
  lastUsed: (tag: string) => number | undefined
  now: number
  /** A tag unused for this long goes. */
  maxIdleMs: number
  /** A dangling image goes once this old (an import of a run of an older checkout may be making it now). */
  danglingMinAgeMs: number
}

/** Stale test images stay this long (a run that checks out an older commit again finds its image). */
export const maxIdleMs = 3 * 3600_000
export const danglingMinAgeMs = 10 * 60_000

/**
 * Which of the recipe's images to remove (`podman rmi` references): tags of its repository unused for
 * maxIdleMs (never one a live run leases), and dangling images older than danglingMinAgeMs. An image a
 * container was made from stays whole.
 */
export function staleImages(facts: PruneFacts): string[] {
  const stale: string[] = []
  for (const image of facts.images) {
    if (image.containers > 0) continue
    if (image.names.length === 0) {
      if (facts.now - image.created >= facts.danglingMinAgeMs) stale.push(image.id)
      continue
    }
    for (const tag of image.names) {
      if (!tag.startsWith(`${facts.repo}:`) || facts.leased.has(tag)) continue
      const used = Math.max(image.created, facts.lastUsed(tag) ?? 0)
      if (facts.now - used >= facts.maxIdleMs) stale.push(tag)
    }
  }
  return stale
}

/**
 * Removes the recipe's stale images (staleImages) and returns what went. The leases are read again just
 * before each removal, so a run that leased a tag meanwhile keeps it; podman refuses an image a container
 * was made from since.
 */
export function pruneImages(
  engine: ImageEngine,
  recipe: { repo: string; label: string },
  stateDir: string,
  now = Date.now(),
): string[] {
  const facts = {
    images: listImages(engine, recipe.label),
    repo: recipe.repo,
    leased: leasedTags(stateDir),
    lastUsed: (tag: string) => lastUsed(stateDir, tag),
    now,
    maxIdleMs,
    danglingMinAgeMs,
  }
  const removed: string[] = []
  for (const ref of staleImages(facts)) {
    if (leasedTags(stateDir).has(ref)) continue
    if (spawnSync(engine.program, ['rmi', ref], { env: engine.env, stdio: 'ignore' }).status !== 0) continue
    removed.push(ref)
    forgetImage(stateDir, ref)
  }
  return removed
}

export function listImages(engine: ImageEngine, label: string): ImageEntry[] {
  const out = execFileSync(engine.program, ['images', '--filter', `label=${label}`, '--format', 'json'], {
    env: engine.env,
    encoding: 'utf8',
  })
  const listed = JSON.parse(out || '[]') as {
    Id: string
    Names?: string[] | null
    Created: number
    Containers?: number
  }[]
  return listed.map((i) => ({
    id: i.Id,
    names: i.Names ?? [],
    created: i.Created * 1000,
    containers: i.Containers ?? 0,
  }))
}
