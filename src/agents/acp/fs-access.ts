import { constants, lstatSync, realpathSync } from 'node:fs'
import { type FileHandle, mkdir, open, realpath } from 'node:fs/promises'
import path from 'node:path'
import { acpSdk } from './sdk.js'

/**
 * The client side of ACP `fs/read_text_file` and `fs/write_text_file`, confined to the session's cwd: a path
 * that resolves (after symlinks of its existing part) outside it is refused, and so is anything but a regular file
 * (a FIFO a command made in the cwd held the gateway's read or write open for good, one libuv thread each).
 */
export class FsAccess {
  private readonly root: string

  constructor(cwd: string) {
    this.root = realpathSync(cwd)
  }

  async read(file: string, line?: number | null, limit?: number | null): Promise<string> {
    const handle = await this.openFile(file, this.confine(file), constants.O_RDONLY)
    let text: string
    try {
      text = await handle.readFile('utf8')
    } finally {
      await handle.close()
    }
    if (!line && !limit) return text
    const lines = text.split('\n')
    const start = Math.max((line ?? 1) - 1, 0)
    return lines.slice(start, limit ? start + limit : undefined).join('\n')
  }

  async write(file: string, content: string): Promise<void> {
    const target = this.confine(file)
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
      throw err
    }
    try {
      if (!(await handle.stat()).isFile()) throw invalid(`${file}: not a regular file`)
      const opened = await realpath(`/proc/self/fd/${handle.fd}`).catch(() => real)
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

const invalid = (message: string) => acpSdk().RequestError.invalidParams(undefined, message)

/**
 * realpath of the longest existing prefix, with the rest appended; undefined when a part that does not resolve
 * is a symlink (pointing nowhere yet): a write would follow it to wherever it points, outside the root too.
 */
function realExisting(p: string): string | undefined {
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
