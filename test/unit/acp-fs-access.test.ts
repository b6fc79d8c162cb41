import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { FsAccess } from '../../src/agents/acp/fs-access.js'
import { loadAcpSdk } from '../../src/agents/acp/sdk.js'
import { tempDir } from '../support/temp.js'

/** ACP `fs/*` requests of an agent, on real files: confined to the session's cwd, symlinks included. */
describe('FsAccess', () => {
  // its refusals are the SDK's JSON-RPC errors, loaded before an agent process starts
  beforeAll(async () => {
    await loadAcpSdk()
  })
  const setup = () => {
    const base = tempDir('fs-access-')
    const root = path.join(base, 'cwd')
    const outside = path.join(base, 'outside')
    mkdirSync(root)
    mkdirSync(outside)
    return { root, outside, fs: new FsAccess(root) }
  }

  it('writes and reads inside the cwd, new directories included', async () => {
    const { root, fs } = setup()
    await fs.write(path.join(root, 'a/b/c.txt'), 'one\ntwo\nthree')
    expect(await fs.read(path.join(root, 'a/b/c.txt'), 2, 1)).toBe('two')
  })

  it('refuses paths outside the cwd, through .. or a symlink to an existing place', async () => {
    const { root, outside, fs } = setup()
    writeFileSync(path.join(outside, 'secret.txt'), 'secret')
    symlinkSync(outside, path.join(root, 'out'))
    await expect(fs.read(path.join(root, '../outside/secret.txt'))).rejects.toThrow(/outside/)
    await expect(fs.read(path.join(root, 'out/secret.txt'))).rejects.toThrow(/outside/)
    await expect(fs.write(path.join(root, 'out/new.txt'), 'x')).rejects.toThrow(/outside/)
    expect(existsSync(path.join(outside, 'new.txt'))).toBe(false)
  })

  it('refuses a write through a symlink that points to nothing yet (it would create its target outside)', async () => {
    const { root, outside, fs } = setup()
    symlinkSync(path.join(outside, 'planted.txt'), path.join(root, 'notes.md'))
    symlinkSync(path.join(outside, 'no-dir'), path.join(root, 'docs'))
    await expect(fs.write(path.join(root, 'notes.md'), 'x')).rejects.toThrow(/symbolic link/)
    await expect(fs.write(path.join(root, 'docs/page.md'), 'x')).rejects.toThrow(/symbolic link/)
    expect(existsSync(path.join(outside, 'planted.txt'))).toBe(false)
    expect(existsSync(path.join(outside, 'no-dir'))).toBe(false)
    // a regular new file next to them is still written
    await fs.write(path.join(root, 'fine.md'), 'ok')
    expect(readFileSync(path.join(root, 'fine.md'), 'utf8')).toBe('ok')
  })

  it('refuses a FIFO and a directory: only regular files are read or written (before, a FIFO held the read and the write open for good)', async () => {
    const { root, fs } = setup()
    const fifo = path.join(root, 'pipe')
    execFileSync('mkfifo', [fifo])
    await expect(fs.read(fifo)).rejects.toThrow(/not a regular file/)
    await expect(fs.write(fifo, 'x')).rejects.toThrow(/not a regular file/)
    mkdirSync(path.join(root, 'dir'))
    await expect(fs.read(path.join(root, 'dir'))).rejects.toThrow(/not a regular file/)
    // a file written again is replaced whole
    await fs.write(path.join(root, 'twice.txt'), 'a longer first text')
    await fs.write(path.join(root, 'twice.txt'), 'short')
    expect(await fs.read(path.join(root, 'twice.txt'))).toBe('short')
  })
})
