import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { probeRecipe } from '../fixtures/images/probe-recipe.js'
import { engineEnv, testEngine } from '../support/container-image.js'
import { ensureImage, lockFile } from '../support/image-import.js'
import { leaseImage } from '../support/image-leases.js'
import { listImages, maxIdleMs, pruneImages } from '../support/image-prune.js'
import { acquireLock, releaseLock } from '../support/owner-lock.js'
import { ownerOf } from '../support/process-owner.js'

/**
 * The test image's import and pruning (test/support/image-import.ts, image-prune.ts) with real podman, on a
 * 2 MB busybox image of the same code path (test/fixtures/images/probe-recipe.ts). Each test labels its
 * images with an id of its own and keeps its lock and leases in a state dir of its own, so what other runs
 * on this machine import or lease is not part of it; it removes its images at the end.
 */
const engine = { program: testEngine, env: engineEnv() }
const script = path.resolve(import.meta.dirname, '../fixtures/images/ensure-probe.ts')
const tsxLoader = import.meta.resolve('tsx')
const me = ownerOf(process.pid)

/** A run's image check in a process of its own (ensure-probe.ts): `waiting` once it waits for the lock. */
function startCheck(stateDir: string, id: string) {
  const child = spawn(process.execPath, ['--import', tsxLoader, script, stateDir, id], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  let onWaiting: () => void = () => {}
  const waiting = new Promise<void>((resolve) => {
    onWaiting = resolve
  })
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk
    if (out.includes('waiting\n')) onWaiting()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk
  })
  const result = new Promise<{ tag: string; imported: boolean }>((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').at(-1) ?? ''))
        : reject(new Error(`ensure-probe exited ${code}: ${err}`)),
    ),
  )
  return { child, waiting, result }
}

async function withProbe(test: (id: string, stateDir: string) => Promise<void>): Promise<void> {
  const id = randomUUID().slice(0, 8)
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'agw-image-test-'))
  try {
    await test(id, stateDir)
  } finally {
    for (const image of listImages(engine, probeRecipe(id).label))
      execFileSync(testEngine, ['rmi', '--force', image.id], { env: engine.env, stdio: 'pipe' })
    rmSync(stateDir, { recursive: true, force: true })
  }
}

describe('test images: one import for runs that start together, and pruning', () => {
  it('two runs that both miss the image import it once: one image, tagged, no untagged copy', async () => {
    await withProbe(async (id, stateDir) => {
      const recipe = probeRecipe(id)
      // the lock is held while both look for the image: each finds none and waits for the lock
      const lock = lockFile(stateDir, recipe.repo)
      acquireLock(lock, me)
      const children: ChildProcess[] = []
      try {
        const first = startCheck(stateDir, id)
        const second = startCheck(stateDir, id)
        children.push(first.child, second.child)
        await Promise.all([first.waiting, second.waiting])
        releaseLock(lock, me)

        const results = await Promise.all([first.result, second.result])

        expect(results[0].tag).toBe(results[1].tag)
        expect(results.map((r) => r.imported).sort()).toEqual([false, true])
        const images = listImages(engine, recipe.label)
        expect(images.map((i) => i.names)).toEqual([[results[0].tag]])
      } finally {
        releaseLock(lock, me)
        for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
      }
    })
  })

  it('prunes the tags no live run leases that stood unused too long, and untagged copies; keeps a leased one', async () => {
    await withProbe(async (id, stateDir) => {
      const leased = ensureImage(probeRecipe(id, 'leased'), engine, {
        stateDir,
        lease: (tag) => leaseImage(stateDir, tag, me),
      })
      const unused = ensureImage(probeRecipe(id, 'unused'), engine, { stateDir })
      // an untagged copy, as two imports under one tag without the lock left them
      const recipe = probeRecipe(id, 'unused')
      const rootfs = mkdtempSync(path.join(os.tmpdir(), 'agw-image-test-rootfs-'))
      try {
        recipe.build(rootfs)
        execFileSync('tar', ['-C', rootfs, '-cf', `${rootfs}.tar`, '.'])
        execFileSync(
          testEngine,
          ['import', '--change', `LABEL=${recipe.label}`, `${rootfs}.tar`, unused.tag],
          {
            env: engine.env,
            stdio: 'pipe',
          },
        )
      } finally {
        rmSync(`${rootfs}.tar`, { force: true })
        rmSync(rootfs, { recursive: true, force: true })
      }
      const before = listImages(engine, recipe.label)
      const dangling = before.filter((i) => i.names.length === 0).map((i) => i.id)
      expect(dangling).toHaveLength(1)

      // now: nothing stood unused long enough yet; the untagged copy is younger than its minimum age too
      expect(pruneImages(engine, recipe, stateDir)).toEqual([])
      // past the idle time: the unleased tag and the untagged copy go, the leased tag stays
      const removed = pruneImages(engine, recipe, stateDir, Date.now() + maxIdleMs + 60_000)

      expect(removed.sort()).toEqual([unused.tag, ...dangling].sort())
      expect(listImages(engine, recipe.label).map((i) => i.names)).toEqual([[leased.tag]])
    })
  })
})
