import { constants, lstatSync, realpathSync } from 'node:fs'
import { type FileHandle, mkdir, open } from 'node:fs/promises'
import path from 'node:path'
import { openFilePath } from '../../process/open-file-path.js'
import type { SandboxMode } from '../../protocol/policies.js'
import { agentLineChars } from '../../util/agent-line.js'
import { acpSdk } from './sdk.js'
import { WriteGrants } from './write-grants.js'

/**
 * The most bytes a read returns: its answer is one JSON-RPC line to the agent, and the gateway's own line limit
 * (agentLineChars, in UTF-16 chars, never more than the UTF-8 bytes they take) is a sensible bound for it.
 */
export const maxReadBytes = agentLineChars
/** How much of a file one read() takes. */
const chunkBytes = 64 * 1024

/**
 * The client side of ACP `fs/read_text_file` and `fs/write_text_file`, confined to the session's cwd: a path
 * that resolves (after symlinks of its existing part) outside it is refused, and so is anything but a regular file
 * (a FIFO a command made in the cwd held the gateway's read or write open for good, one libuv thread each). A write
 * is the sandbox's to allow (write-grants.ts: a read-only session writes only what the client approved). A missing
 * file is ACP's `Resource not found` (-32002), as agents look for it (Gemini CLI's message test). A read
 * streams the file and keeps only the lines asked for (`line`, `limit`), stopping after them; what it would return
 * is at most `maxBytes` (a larger file read whole, or larger lines asked for, are refused, naming the size).
 */
export class FsAccess {
  private readonly root: string
  readonly grants: WriteGrants

  /** Told why a write was refused by the sandbox (the agent gets a JSON-RPC error; the client is told this way). */
  onRefused: ((message: string) => void) | undefined

  constructor(
    cwd: string,
    sandbox: SandboxMode,
    private readonly maxBytes = maxReadBytes,
  ) {
    this.root = realpathSync(cwd)
    this.grants = new WriteGrants(sandbox, cwd, realExisting)
  }

  async read(file: string, line?: number | null, limit?: number | null): Promise<string> {
    const handle = await this.openFile(file, this.confine(file), constants.O_RDONLY)
    try {
      return await this.lines(file, handle, Math.max((line ?? 1) - 1, 0), limit || Infinity)
    } finally {
      await handle.close()
    }
  }

  /**
   * Lines [start, start + count) of the open file (0-based; without their last newline, as `split('\n')` and
   * `join('\n')` give them: to the end of the file when it has fewer), read a chunk at a time: the lines before
   * `start` are passed over, nothing after the last one is read.
   */
  private async lines(file: string, handle: FileHandle, start: number, count: number): Promise<string> {
    const size = (await handle.stat()).size
    const whole = start === 0 && count === Infinity
    if (whole && size > this.maxBytes) throw this.tooLarge(file, size, start, count)
    const end = start + count
    const kept: Buffer[] = []
    let keptBytes = 0
    let lineNo = 0
    const buffer = Buffer.allocUnsafe(chunkBytes)
    while (lineNo < end) {
      const { bytesRead } = await handle.read(buffer, 0, chunkBytes, null)
      if (bytesRead === 0) break
      const chunk = buffer.subarray(0, bytesRead)
      let from = 0
      while (from < chunk.length && lineNo < end) {
        const newline = chunk.indexOf(0x0a, from)
        const lineEnd = newline === -1 ? chunk.length : newline
        if (lineNo >= start) {
          // the newline goes between lines, not after the last one asked for
          const upTo = newline !== -1 && lineNo < end - 1 ? newline + 1 : lineEnd
          keptBytes += upTo - from
          if (keptBytes > this.maxBytes) throw this.tooLarge(file, size, start, count)
          kept.push(Buffer.from(chunk.subarray(from, upTo)))
        }
        if (newline === -1) break
        lineNo++
        from = newline + 1
      }
    }
    return Buffer.concat(kept).toString('utf8')
  }

  /** A read that would return more than maxBytes, refused (naming the file's size). */
  private tooLarge(file: string, size: number, start: number, count: number) {
    const lines =
      count === Infinity ? `its lines from ${start + 1} on` : `its lines ${start + 1}-${start + count}`
    const what = start === 0 && count === Infinity ? 'it' : lines
    return invalid(
      `${file}: ${size} bytes; ${what} would be more than a read returns (${this.maxBytes} bytes): ` +
        'read fewer lines (line, limit)',
    )
  }

  async write(file: string, content: string): Promise<void> {
    const target = this.confine(file)
    // before anything is made (the directories above it included)
    const refused = this.grants.refusal(file, target, content)
    if (refused !== undefined) {
      this.onRefused?.(refused)
      throw acpSdk().RequestError.invalidRequest(undefined, refused)
    }
    await mkdir(path.dirname(target), { recursive: true })
    const handle = await this.openFile(file, target, constants.O_WRONLY | constants.O_CREAT)
    try {
      await handle.truncate(0)
      await handle.writeFile(content)
    } finally {
      await handle.close()
    }
  }

  /**
   * `real` (confine's answer for `file`) opened without following a symlink in its last part (one put there since
   * confine looked) and without waiting (a FIFO opens at once, or not at all), then checked: a regular file, and
   * still inside the root where the system can say where an open file is (/proc/self/fd; a directory above it
   * swapped for a symlink meanwhile). Nothing was read or written before these checks.
   */
  private async openFile(file: string, real: string, flags: number): Promise<FileHandle> {
    let handle: FileHandle
    try {
      handle = await open(real, flags | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o666)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ELOOP') throw invalid(`${file}: a symbolic link is in its path`)
      if (code === 'ENXIO') throw invalid(`${file}: not a regular file`)
      if (code === 'ENOENT') throw acpSdk().RequestError.resourceNotFound(file)
      throw err
    }
    try {
      if (!(await handle.stat()).isFile()) throw invalid(`${file}: not a regular file`)
      const opened = (await openFilePath(handle.fd)) ?? real
      if (!this.inside(opened)) throw invalid(`${file}: outside the session's working directory`)
      return handle
    } catch (err) {
      await handle.close()
      throw err
    }
  }

  private inside(real: string): boolean {
    return real === this.root || real.startsWith(this.root + path.sep)
  }

  /** The real path of `file`, or a JSON-RPC error when it lies outside the root. */
  confine(file: string): string {
    if (!path.isAbsolute(file))
      throw acpSdk().RequestError.invalidParams(undefined, `${file}: not an absolute path`)
    const real = realExisting(path.resolve(file))
    if (real === undefined)
      throw acpSdk().RequestError.invalidParams(
        undefined,
        `${file}: a symbolic link to nothing is in its path`,
      )
    if (!this.inside(real)) throw invalid(`${file}: outside the session's working directory`)
    return real
  }
}

/**
 * Whether `file` (absolute, or relative to `cwd`) lies inside `cwd` after the symlinks of its existing part: false
 * for one that resolves outside, and for a path through a symlink that points nowhere yet.
 */
export function insideCwd(cwd: string, file: string): boolean {
  const root = realExisting(path.resolve(cwd))
  const real = realExisting(path.resolve(cwd, file))
  if (root === undefined || real === undefined) return false
  return real === root || real.startsWith(root + path.sep)
}

const invalid = (message: string) => acpSdk().RequestError.invalidParams(undefined, message)

/**
 * realpath of the longest existing prefix, with the rest appended; undefined when a part that does not resolve
 * is a symlink (pointing nowhere yet): a write would follow it to wherever it points, outside the root too.
 */
export function realExisting(p: string): string | undefined {
  try {
    return realpathSync(p)
  } catch {
    if (isSymlink(p)) return undefined
    const parent = path.dirname(p)
    if (parent === p) return p
    const realParent = realExisting(parent)
    return realParent === undefined ? undefined : path.join(realParent, path.basename(p))
  }
}

function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink()
  } catch {
    return false
  }
}
