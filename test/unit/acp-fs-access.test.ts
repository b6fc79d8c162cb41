import { execFileSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { FsAccess, maxReadBytes } from '../../src/agents/acp/fs-access.js'
import { loadAcpSdk } from '../../src/agents/acp/sdk.js'
import { type ApprovedWrite, approvedWrites } from '../../src/agents/acp/write-grants.js'
import type { SandboxMode } from '../../src/protocol/policies.js'
import { tempDir } from '../support/temp.js'

/** ACP `fs/*` requests of an agent, on real files: confined to the session's cwd, symlinks included. */
describe('FsAccess', () => {
  // its refusals are the SDK's JSON-RPC errors, loaded before an agent process starts
  beforeAll(async () => {
    await loadAcpSdk()
  })
  const setup = (sandbox: SandboxMode = 'workspace-write', maxBytes?: number) => {
    const base = tempDir('fs-access-')
    const root = path.join(base, 'cwd')
    const outside = path.join(base, 'outside')
    mkdirSync(root)
    mkdirSync(outside)
    return { root, outside, fs: new FsAccess(root, sandbox, maxBytes) }
  }
  /** A file change naming `paths` by their locations only (no diff: any content may be written). */
  const fileChange = (...paths: string[]): ApprovedWrite[] => paths.map((p) => ({ path: p }))

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

  it('writes every file in the cwd under workspace-write and danger-full-access (as before)', async () => {
    for (const sandbox of ['workspace-write', 'danger-full-access'] as const) {
      const { root, fs } = setup(sandbox)
      await fs.write(path.join(root, 'new/file.txt'), sandbox)
      expect(readFileSync(path.join(root, 'new/file.txt'), 'utf8')).toBe(sandbox)
    }
  })

  it('read-only: refuses every write the client did not approve, with a JSON-RPC error, and makes nothing (before, it wrote)', async () => {
    const { root, fs } = setup('read-only')
    writeFileSync(path.join(root, 'kept.txt'), 'original')
    const refused = fs.write(path.join(root, 'dir/new.txt'), 'x')
    await expect(refused).rejects.toMatchObject({ code: -32600 })
    await expect(refused).rejects.toThrow(/sandbox is read-only/)
    await expect(fs.write(path.join(root, 'kept.txt'), 'changed')).rejects.toThrow(/read-only/)
    expect(readdirSync(root)).toEqual(['kept.txt'])
    expect(readFileSync(path.join(root, 'kept.txt'), 'utf8')).toBe('original')
    // reads are what read-only allows
    expect(await fs.read(path.join(root, 'kept.txt'))).toBe('original')
  })

  it('read-only: writes the paths a file change the client accepted names by location (no diff), until the turn ends; declined ones and others not', async () => {
    const { root, fs } = setup('read-only')
    const approved = path.join(root, 'approved.txt')
    const other = path.join(root, 'other.txt')
    fs.grants.answered('file_change', 'decline', fileChange(path.join(root, 'declined.txt')))
    fs.grants.answered('file_change', 'cancel', fileChange(path.join(root, 'cancelled.txt')))
    // a relative path in the change is the cwd's
    fs.grants.answered('file_change', 'accept', fileChange('approved.txt'))
    await fs.write(approved, 'edit')
    await fs.write(approved, 'edit again')
    expect(readFileSync(approved, 'utf8')).toBe('edit again')
    for (const name of ['declined.txt', 'cancelled.txt', 'other.txt'])
      await expect(fs.write(path.join(root, name), 'x')).rejects.toThrow(/read-only/)
    // a command's approval lets no file be written
    fs.grants.answered('command', 'accept', [{ path: other }])
    await expect(fs.write(other, 'x')).rejects.toThrow(/read-only/)
    fs.grants.turnEnded()
    await expect(fs.write(approved, 'next turn')).rejects.toThrow(/read-only/)
    expect(readFileSync(approved, 'utf8')).toBe('edit again')
    expect(existsSync(other)).toBe(false)
  })

  it('read-only: a file change with a diff lets only its new text be written (line endings aside): an agent may not ask about one edit and write another (before, any content was written)', async () => {
    const { root, fs } = setup('read-only')
    const file = path.join(root, 'edited.txt')
    writeFileSync(file, 'old\n')
    const refusals: string[] = []
    fs.onRefused = (message) => refusals.push(message)
    fs.grants.answered('file_change', 'accept', [{ path: file, content: 'first\nedit\n' }])
    const forged = fs.write(file, 'something else\n')
    await expect(forged).rejects.toMatchObject({ code: -32600 })
    await expect(forged).rejects.toThrow(
      /read-only, and this content is not what the file change the client approved/,
    )
    expect(readFileSync(file, 'utf8')).toBe('old\n')
    expect(refusals).toEqual([
      expect.stringMatching(/^.*edited\.txt: not written: .*not what the file change/),
    ])
    // what the diff showed, with CRLF line endings (Gemini CLI keeps a CRLF file's own)
    await fs.write(file, 'first\r\nedit\r\n')
    expect(readFileSync(file, 'utf8')).toBe('first\r\nedit\r\n')
    // a second approved change of the same path in the turn: its text too
    fs.grants.answered('file_change', 'accept', [{ path: file, content: 'second\n' }])
    await fs.write(file, 'second\n')
    await fs.write(file, 'first\nedit\n')
    await expect(fs.write(file, 'third\n')).rejects.toThrow(/not what the file change/)
    expect(readFileSync(file, 'utf8')).toBe('first\nedit\n')
    fs.grants.turnEnded()
    await expect(fs.write(file, 'second\n')).rejects.toThrow(/no file change of this path was approved/)
    expect(refusals).toHaveLength(3)
  })

  it('approvedWrites: the new text of each diff of a file change, else its locations (no content)', () => {
    const base = { id: 't', kind: 'edit', output: {} }
    const diff = (p: string, newText: string) => ({ type: 'diff', path: p, oldText: null, newText })
    expect(
      approvedWrites({
        ...base,
        content: [
          diff('/w/a.txt', 'A'),
          { type: 'content', content: { type: 'text', text: 'x' } },
          diff('/w/b.txt', 'B'),
        ],
        locations: [{ path: '/w/a.txt' }],
      } as never),
    ).toEqual([
      { path: '/w/a.txt', content: 'A' },
      { path: '/w/b.txt', content: 'B' },
    ])
    expect(approvedWrites({ ...base, content: [], locations: [{ path: '/w/c.txt' }] } as never)).toEqual([
      { path: '/w/c.txt' },
    ])
  })

  it("a missing file's read is ACP's Resource not found (-32002) naming it (before, an internal error)", async () => {
    const { root, fs } = setup('read-only')
    const missing = path.join(root, 'no/such.txt')
    const read = fs.read(missing)
    await expect(read).rejects.toMatchObject({ code: -32002, message: `Resource not found: ${missing}` })
  })

  it('read-only: a file change accepted for the session lets every file in the cwd be written, still not outside it', async () => {
    const { root, outside, fs } = setup('read-only')
    fs.grants.answered('file_change', 'accept_for_session', fileChange(path.join(root, 'a.txt')))
    fs.grants.turnEnded()
    await fs.write(path.join(root, 'b/c.txt'), 'later')
    expect(readFileSync(path.join(root, 'b/c.txt'), 'utf8')).toBe('later')
    await expect(fs.write(path.join(outside, 'x.txt'), 'x')).rejects.toThrow(/outside/)
  })

  it('reads the lines asked for (line, limit) as before: 1-based, no newline after the last one', async () => {
    const { root, fs } = setup()
    const file = path.join(root, 'lines.txt')
    writeFileSync(file, 'one\ntwo\nthree\n')
    expect(await fs.read(file)).toBe('one\ntwo\nthree\n')
    expect(await fs.read(file, 1, 1)).toBe('one')
    expect(await fs.read(file, 2)).toBe('two\nthree\n')
    expect(await fs.read(file, 2, 2)).toBe('two\nthree')
    expect(await fs.read(file, 3, 5)).toBe('three\n')
    expect(await fs.read(file, 4)).toBe('')
    expect(await fs.read(file, 9, 1)).toBe('')
    // lines across chunks of the read (64 KiB), multi-byte characters cut between them included
    const long = Array.from({ length: 30_000 }, (_, i) => `${i}:é€😀`)
    writeFileSync(file, long.join('\n'))
    expect(await fs.read(file)).toBe(long.join('\n'))
    expect(await fs.read(file, 10_001, 12_345)).toBe(long.slice(10_000, 22_345).join('\n'))
    expect(await fs.read(file, 29_999)).toBe(long.slice(29_998).join('\n'))
  })

  it('refuses a file over the cap without reading it, naming its size; reads the lines asked for of a huge one, and refuses lines over the cap', async () => {
    expect(maxReadBytes).toBe(8 * 1024 * 1024)
    const { root, fs } = setup('read-only')
    // 3 GiB, sparse: read whole, it cannot be (before: Node's 2 GiB limit, after reading it all)
    const huge = path.join(root, 'huge.log')
    writeFileSync(huge, 'first\nsecond\n')
    truncateSync(huge, 3 * 1024 ** 3)
    const size = statSync(huge).size
    await expect(fs.read(huge)).rejects.toThrow(
      new RegExp(`${size} bytes; it would be more than a read returns \\(${maxReadBytes} bytes\\)`),
    )
    expect(await fs.read(huge, 2, 1)).toBe('second')
    // line 3 is 3 GiB of NULs: refused once the cap is passed, not read to its end
    await expect(fs.read(huge, 3, 1)).rejects.toThrow(/its lines 3-3 would be more than a read returns/)
    // the cap itself, small here: what fits is read, one byte more is refused
    const small = setup('read-only', 8)
    const file = path.join(small.root, 'f.txt')
    writeFileSync(file, '1234\n678')
    expect(await small.fs.read(file)).toBe('1234\n678')
    writeFileSync(file, '1234\n6789')
    await expect(small.fs.read(file)).rejects.toThrow(/f\.txt: 9 bytes; it would be more/)
    expect(await small.fs.read(file, 2)).toBe('6789')
    writeFileSync(file, '1234\n6789\nabcdefgh\n')
    expect(await small.fs.read(file, 1, 1)).toBe('1234')
    await expect(small.fs.read(file, 1, 2)).rejects.toThrow(/lines 1-2 would be more/)
    await expect(small.fs.read(file, 2)).rejects.toThrow(/lines from 2 on would be more/)
  })
})
