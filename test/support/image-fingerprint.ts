import { createHash } from 'node:crypto'
import { closeSync, openSync, readFileSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'

/**
 * What an image's input files are, one line each, for its tag (image-import.ts `recipeTag`): each file's name
 * (from `node_modules/` on for a file of an installed package, relative to `projectRoot` for another file inside
 * it, else its path), size and a digest of its bytes. Every `npm ci` writes node_modules afresh, new mtimes for the
 * same bytes: with mtimes in the tag a fresh clone (CI) imported the image again (~1-2 min before its first test
 * file started), and so did a worktree whose node_modules is a link to another checkout's (its paths resolve
 * there). The digests are kept in `cacheDir/digests.json`, each valid while its file keeps its inode, size and
 * times: the ~1.2 GB of agent binaries and node cost ~1 s of CPU to read.
 */
export function imageInputsFingerprint(files: string[], projectRoot: string, cacheDir: string): string {
  const cacheFile = path.join(cacheDir, 'digests.json')
  const cache = readCache(cacheFile)
  let changed = false
  const lines = files.map((file) => {
    const s = statSync(file)
    const stamp = `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`
    let known = cache[file]
    if (known?.stamp !== stamp) {
      known = { stamp, digest: digestOf(file) }
      cache[file] = known
      changed = true
    }
    return `${nameOf(file, projectRoot)}:${s.size}:${known.digest}\n`
  })
  if (changed) {
    // written aside and renamed: a run reading it at the same time sees the old or the new cache, whole
    const aside = `${cacheFile}.${process.pid}.new`
    writeFileSync(aside, JSON.stringify(cache))
    renameSync(aside, cacheFile)
  }
  return lines.join('')
}

function nameOf(file: string, projectRoot: string): string {
  const packaged = file.indexOf('/node_modules/')
  if (packaged >= 0) return file.slice(packaged + 1)
  return file.startsWith(`${projectRoot}/`) ? path.relative(projectRoot, file) : file
}

type Cache = Record<string, { stamp: string; digest: string }>

function readCache(file: string): Cache {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Cache
  } catch {
    return {}
  }
}

function digestOf(file: string): string {
  const hash = createHash('sha256')
  const fd = openSync(file, 'r')
  try {
    const buf = Buffer.allocUnsafe(1 << 20)
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) hash.update(buf.subarray(0, n))
  } finally {
    closeSync(fd)
  }
  return hash.digest('hex')
}
