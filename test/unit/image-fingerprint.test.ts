import { mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { imageInputsFingerprint } from '../support/image-fingerprint.js'
import { tempDir } from '../support/temp.js'

/** A checkout at `root` with one installed package's binary and one file of its own. */
function checkout(root: string, binary: string, mtimeSec: number) {
  const bin = path.join(root, 'node_modules', '@agents', 'tool', 'bin', 'tool')
  mkdirSync(path.dirname(bin), { recursive: true })
  writeFileSync(bin, binary)
  utimesSync(bin, mtimeSec, mtimeSec)
  const own = path.join(root, 'fixture.txt')
  writeFileSync(own, 'fixture')
  utimesSync(own, 1_700_000_000, 1_700_000_000)
  return { bin, own, files: [bin, own] }
}

describe('imageInputsFingerprint: the test image tag of what goes into it', () => {
  it('a fresh clone (another path, npm ci: new mtimes, the same bytes) gives the same fingerprint', () => {
    const cache = tempDir('digests-')
    const first = tempDir('clone-a-')
    const second = tempDir('clone-b-')
    const a = checkout(first, 'agent binary v1', 1_800_000_000)
    const b = checkout(second, 'agent binary v1', 1_800_003_600)
    // before: each file's mtime was in it, so every `npm ci` imported the image again
    expect(imageInputsFingerprint(b.files, second, cache)).toBe(imageInputsFingerprint(a.files, first, cache))
    // a worktree whose node_modules resolves into another checkout names the package's files the same way
    const worktree = tempDir('worktree-')
    expect(imageInputsFingerprint([a.bin], worktree, cache)).toBe(
      imageInputsFingerprint([b.bin], second, cache),
    )
  })

  it('other bytes of the same size give another, also when the file keeps its mtime (the digest cache)', () => {
    const cache = tempDir('digests-')
    const root = tempDir('clone-')
    const { bin, files } = checkout(root, 'agent binary v1', 1_800_000_000)
    const before = imageInputsFingerprint(files, root, cache)
    expect(imageInputsFingerprint(files, root, cache)).toBe(before)
    const { mtime } = statSync(bin)
    writeFileSync(bin, 'agent binary v2')
    utimesSync(bin, mtime, mtime)
    expect(imageInputsFingerprint(files, root, cache)).not.toBe(before)
  })

  it('names each file, and a file outside the packages by its bytes too', () => {
    const cache = tempDir('digests-')
    const root = tempDir('clone-')
    const { own, files } = checkout(root, 'agent binary v1', 1_800_000_000)
    const before = imageInputsFingerprint(files, root, cache)
    expect(before).toMatch(
      /^node_modules\/@agents\/tool\/bin\/tool:15:[0-9a-f]{64}\nfixture\.txt:7:[0-9a-f]{64}\n$/,
    )
    writeFileSync(own, 'fixturE')
    expect(imageInputsFingerprint(files, root, cache)).not.toBe(before)
  })
})
