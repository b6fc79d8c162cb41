import { lstatSync, realpathSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { acpSdk } from './sdk.js'

/**
 * The client side of ACP `fs/read_text_file` and `fs/write_text_file`, confined to the session's cwd: a path
 * that resolves (after symlinks of its existing part) outside it is refused.
 */
export class FsAccess {
  private readonly root: string

  constructor(cwd: string) {
    this.root = realpathSync(cwd)
  }

  async read(file: string, line?: number | null, limit?: number | null): Promise<string> {
    const text = await readFile(this.confine(file), 'utf8')
    if (!line && !limit) return text
    const lines = text.split('\n')
    const start = Math.max((line ?? 1) - 1, 0)
    return lines.slice(start, limit ? start + limit : undefined).join('\n')
  }

  async write(file: string, content: string): Promise<void> {
    const target = this.confine(file)
    await mkdir(path.dirname(target), { recursive: true })
    await writeFile(target, content)
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
    if (real !== this.root && !real.startsWith(this.root + path.sep))
      throw acpSdk().RequestError.invalidParams(undefined, `${file}: outside the session's working directory`)
    return real
  }
}

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
