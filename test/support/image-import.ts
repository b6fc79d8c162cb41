import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { type LockOptions, withLock } from './owner-lock.js'
import { ownerOf } from './process-owner.js'

/**
 * An image the tests make offline from a root filesystem (`podman import`), tagged by a fingerprint of what
 * goes into it, so a run whose inputs did not change finds it without building anything.
 */
export interface ImageRecipe {
  /** The repository its tags go to: `localhost/<name>`. */
  repo: string
  /** `key=value`: every image of the recipe carries it; pruning (image-prune.ts) looks only at those. */
  label: string
  /** Changes whenever the image's content would (file names, sizes and times: cheap to compute). */
  fingerprint(): string
  /** Fills the root filesystem. */
  build(root: string): void
  /** `podman import --change` instructions (ENV, USER, ...); the label is added. */
  changes: string[]
}

export interface ImageEngine {
  program: string
  env: Record<string, string>
}

/** The tag the recipe's current inputs give. */
export function recipeTag(recipe: ImageRecipe): string {
  return `${recipe.repo}:${createHash('sha256').update(recipe.fingerprint()).digest('hex').slice(0, 16)}`
}

export function imageExists(engine: ImageEngine, ref: string): boolean {
  return spawnSync(engine.program, ['image', 'exists', ref], { env: engine.env }).status === 0
}

/**
 * Where the runs of this machine coordinate their images: the import lock, the runs' leases
 * (image-leases.ts) and the shared-library cache. One place per user, like the PostgreSQL servers' root.
 */
export function imagesStateDir(): string {
  const dir = path.join(os.tmpdir(), `agw-test-images-${process.getuid?.() ?? 'user'}`)
  mkdirSync(dir, { recursive: true })
  return dir
}

export const lockFile = (stateDir: string, repo: string) =>
  path.join(stateDir, `${repo.replace(/[^a-zA-Z0-9]+/g, '-')}.lock`)

/**
 * The recipe's image: found by its tag, or built and imported under the recipe's lock. Two runs that miss it
 * at once import it once: the second waits for the first and then finds it (two imports under one tag would
 * leave the first image untagged, 1.6 GB for the test image). `imported` tells whether this call imported it.
 */
export function ensureImage(
  recipe: ImageRecipe,
  engine: ImageEngine,
  options: LockOptions & {
    stateDir?: string
    /** Called with the tag before it is looked for: a run leases it first (image-leases.ts), so a pruning run never removes it under it. */
    lease?: (tag: string) => void
  } = {},
): { tag: string; imported: boolean } {
  const tag = recipeTag(recipe)
  options.lease?.(tag)
  if (imageExists(engine, tag)) return { tag, imported: false }
  const lock = lockFile(options.stateDir ?? imagesStateDir(), recipe.repo)
  const imported = withLock(
    lock,
    ownerOf(process.pid),
    () => {
      if (imageExists(engine, tag)) return false
      importImage(recipe, engine, tag)
      return true
    },
    options,
  )
  return { tag, imported }
}

function importImage(recipe: ImageRecipe, engine: ImageEngine, tag: string): void {
  const root = mkdtempSync(path.join(os.tmpdir(), 'agw-rootfs-'))
  const tar = `${root}.tar`
  try {
    recipe.build(root)
    execFileSync('tar', ['-C', root, '-cf', tar, '.'])
    const changes = [...recipe.changes, `LABEL=${recipe.label}`]
    execFileSync(engine.program, ['import', ...changes.flatMap((c) => ['--change', c]), tar, tag], {
      env: engine.env,
      stdio: 'pipe',
    })
  } finally {
    rmSync(tar, { force: true })
    rmSync(root, { recursive: true, force: true })
  }
}
