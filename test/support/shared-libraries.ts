import { spawnSync } from 'node:child_process'
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'

/**
 * The shared libraries a dynamically linked binary loads (from ldd), the loader included; none if static.
 * ldd costs 100-200 ms a binary (more on a busy machine), and the test image's check asks for six on every
 * run: the answers are kept in `cacheDir/ldd.json`, each valid while the binary, the libraries it named and
 * the loader's cache (/etc/ld.so.cache, which ldconfig rewrites) keep their size and mtime.
 */
export function sharedLibraries(binary: string, cacheDir?: string): string[] {
  if (!cacheDir) return ldd(binary)
  const file = path.join(cacheDir, 'ldd.json')
  const cache = readCache(file)
  const known = cache[binary]
  if (known && known.stamp === stampOf([binary, ldCache, ...known.libs])) return known.libs
  const libs = ldd(binary)
  cache[binary] = { stamp: stampOf([binary, ldCache, ...libs]), libs }
  // written aside and renamed: a run reading it at the same time sees the old or the new cache, whole
  const aside = `${file}.${process.pid}.new`
  writeFileSync(aside, JSON.stringify(cache))
  renameSync(aside, file)
  return libs
}

const ldCache = '/etc/ld.so.cache'

type Cache = Record<string, { stamp: string; libs: string[] }>

function readCache(file: string): Cache {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Cache
  } catch {
    return {}
  }
}

/** Sizes and mtimes of the files ('-' for one that is missing). */
function stampOf(files: string[]): string {
  return files
    .map((f) => {
      try {
        const s = statSync(f)
        return `${s.size}:${s.mtimeMs}`
      } catch {
        return '-'
      }
    })
    .join(',')
}

function ldd(binary: string): string[] {
  const out = spawnSync('ldd', [binary], { encoding: 'utf8' })
  const libs = new Set<string>()
  for (const line of (out.stdout ?? '').split('\n')) {
    const m = /(\/\S+)\s+\(0x/.exec(line)
    if (m?.[1]) libs.add(m[1])
  }
  return [...libs]
}
