import { mkdirSync, realpathSync, renameSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { resolveCwd } from '../../src/core/workspace.js'
import { AppError } from '../../src/protocol/errors.js'
import { removeDir, tempDir } from '../support/temp.js'

let base: string
let rootA: string
let rootB: string
let outside: string

beforeEach(() => {
  base = tempDir('workspace-')
  rootA = path.join(base, 'root-a')
  rootB = path.join(base, 'root-b')
  outside = path.join(base, 'outside')
  for (const d of [rootA, path.join(rootA, 'proj', 'sub'), rootB, path.join(rootB, 'other'), outside])
    mkdirSync(d, { recursive: true })
})

afterEach(() => {
  removeDir(base)
})

function refusal(requested: string | undefined, roots: string[]): AppError {
  try {
    resolveCwd(requested, roots)
  } catch (err) {
    expect(err).toBeInstanceOf(AppError)
    return err as AppError
  }
  throw new Error(`resolveCwd accepted ${JSON.stringify(requested)}`)
}

describe('resolveCwd', () => {
  it('returns the realpath of the first root when no cwd is requested', () => {
    expect(resolveCwd(undefined, [rootA, rootB])).toBe(realpathSync(rootA))
    expect(resolveCwd('', [rootA, rootB])).toBe(realpathSync(rootA))
  })

  it('resolves a relative path against the first root', () => {
    expect(resolveCwd('proj/sub', [rootA, rootB])).toBe(realpathSync(path.join(rootA, 'proj', 'sub')))
    expect(resolveCwd('proj/sub/..', [rootA, rootB])).toBe(realpathSync(path.join(rootA, 'proj')))
  })

  it('accepts an absolute path inside the second root', () => {
    expect(resolveCwd(path.join(rootB, 'other'), [rootA, rootB])).toBe(
      realpathSync(path.join(rootB, 'other')),
    )
  })

  it('accepts a root itself', () => {
    expect(resolveCwd(rootB, [rootA, rootB])).toBe(realpathSync(rootB))
  })

  it('refuses a .. escape with invalid_cwd', () => {
    const err = refusal('../outside', [rootA])
    expect(err.code).toBe('invalid_cwd')
    expect(err.status).toBe(400)
    expect(err.message).toContain('outside the workspace roots')
    expect(err.details).toMatchObject({ cwd: '../outside' })
    expect(err.message).toContain('WORKSPACE_ROOTS')
  })

  it('refuses an escape to a sibling whose name starts with the root name', () => {
    const sibling = `${rootA}-evil`
    mkdirSync(sibling)
    expect(refusal(sibling, [rootA]).code).toBe('invalid_cwd')
  })

  it('refuses an absolute path outside every root', () => {
    expect(refusal(outside, [rootA, rootB]).code).toBe('invalid_cwd')
    expect(refusal('/', [rootA, rootB]).code).toBe('invalid_cwd')
  })

  it('refuses a symlink inside the root that points outside', () => {
    symlinkSync(outside, path.join(rootA, 'escape'))
    const err = refusal('escape', [rootA])
    expect(err.code).toBe('invalid_cwd')
    expect(err.message).toContain('symlinks are resolved')
  })

  it('accepts a symlink inside the root that points inside, returning its target', () => {
    symlinkSync(path.join(rootA, 'proj', 'sub'), path.join(rootA, 'shortcut'))
    expect(resolveCwd('shortcut', [rootA])).toBe(realpathSync(path.join(rootA, 'proj', 'sub')))
  })

  it('accepts a symlink in one root that points into another root', () => {
    symlinkSync(path.join(rootB, 'other'), path.join(rootA, 'to-b'))
    expect(resolveCwd('to-b', [rootA, rootB])).toBe(realpathSync(path.join(rootB, 'other')))
  })

  it('refuses a directory that does not exist, saying it may not exist', () => {
    const err = refusal('no/such/dir', [rootA])
    expect(err.code).toBe('invalid_cwd')
    expect(err.message).toContain('"no/such/dir"')
    expect(err.message).toContain('does not exist')
  })

  it('works when the root is reached through a symlinked path', () => {
    const linkedRoot = path.join(base, 'linked-root')
    symlinkSync(rootA, linkedRoot)
    expect(resolveCwd(undefined, [linkedRoot])).toBe(realpathSync(rootA))
    expect(resolveCwd('proj', [linkedRoot])).toBe(realpathSync(path.join(rootA, 'proj')))
    expect(resolveCwd(path.join(linkedRoot, 'proj', 'sub'), [linkedRoot])).toBe(
      realpathSync(path.join(rootA, 'proj', 'sub')),
    )
    expect(refusal('../outside', [linkedRoot]).code).toBe('invalid_cwd')
  })

  it('skips a root that does not exist and checks the others', () => {
    const missing = path.join(base, 'missing-root')
    expect(resolveCwd(path.join(rootB, 'other'), [rootA, missing, rootB])).toBe(
      realpathSync(path.join(rootB, 'other')),
    )
  })

  it('accepts a directory inside the root whose name starts with two dots', () => {
    mkdirSync(path.join(rootA, '..cache'))
    expect(resolveCwd('..cache', [rootA])).toBe(realpathSync(path.join(rootA, '..cache')))
  })

  it('refuses a regular file inside the root (a cwd must be a directory)', () => {
    writeFileSync(path.join(rootA, 'notes.txt'), 'x')
    const err = refusal('notes.txt', [rootA])
    expect(err.code).toBe('invalid_cwd')
  })

  it('refuses when no root is configured', () => {
    expect(refusal(undefined, []).code).toBe('internal')
  })

  it('a root replaced by a symlink elsewhere after its first use still confines to where it was', () => {
    expect(resolveCwd(undefined, [rootA])).toBe(realpathSync(rootA))
    renameSync(rootA, path.join(base, 'root-a-moved'))
    symlinkSync(outside, rootA)
    // The cwd is the root's path, which now leads outside: refused, not taken as the root itself.
    expect(refusal(undefined, [rootA]).message).toContain('outside the workspace roots')
    expect(refusal(rootA, [rootA]).message).toContain('outside the workspace roots')
  })
})
