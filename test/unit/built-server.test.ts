import { mkdirSync, utimesSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { builtIsCurrent } from '../support/built-server.js'
import { removeDir, tempDir } from '../support/temp.js'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) removeDir(dir)
})

/** A checkout with sources written at `t` seconds and a build at `t + 10` (both in the past). */
function checkout(t = 1_000_000) {
  const root = tempDir('built-')
  dirs.push(root)
  const write = (file: string, at: number) => {
    const full = path.join(root, file)
    mkdirSync(path.dirname(full), { recursive: true })
    writeFileSync(full, '')
    utimesSync(full, at, at)
  }
  for (const file of ['src/main.ts', 'src/http/app.ts', 'tsconfig.json', 'tsconfig.build.json'])
    write(file, t)
  for (const file of ['dist/main.js', 'dist/http/app.js', 'dist/http/app.d.ts']) write(file, t + 10)
  return { root, write }
}

describe('builtIsCurrent: test servers run dist/ only when it is built from the sources as they are', () => {
  it('a build newer than every source is current', () => {
    expect(builtIsCurrent(checkout().root)).toBe(true)
  })

  it('a source, a new source or a tsconfig changed after the build makes it stale', () => {
    for (const file of ['src/http/app.ts', 'src/new/thing.ts', 'tsconfig.json', 'tsconfig.build.json']) {
      const { root, write } = checkout()
      write(file, 1_000_020)
      expect(builtIsCurrent(root), file).toBe(false)
    }
  })

  it('a compiled file older than a source (a build that stopped half way) makes it stale', () => {
    const { root, write } = checkout()
    write('dist/http/app.js', 999_999)
    expect(builtIsCurrent(root)).toBe(false)
  })

  it('without dist/main.js there is no build; the console (dist/web) and declarations do not count', () => {
    const { root, write } = checkout()
    write('dist/web/assets/index.js', 999_999)
    write('dist/http/app.d.ts', 999_999)
    expect(builtIsCurrent(root)).toBe(true)
    removeDir(path.join(root, 'dist/main.js'))
    expect(builtIsCurrent(root)).toBe(false)
    removeDir(path.join(root, 'dist'))
    expect(builtIsCurrent(root)).toBe(false)
  })
})
