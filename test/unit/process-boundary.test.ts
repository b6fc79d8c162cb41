import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const src = path.resolve(import.meta.dirname, '../../src')

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath, e.name))
}

/** What only a ProcessRunner (src/process) may do: start programs, signal them, read /proc. */
const processControl = [
  /from ['"]node:child_process['"]/,
  /process\.kill\(/,
  /['"`]\/proc\b/,
  /from ['"][./]*process\/(spawn-group|terminate|orphans|marked-processes)\.js['"]/,
]

describe('the process boundary', () => {
  it('nothing outside src/process spawns, signals or reads /proc', () => {
    const offenders = sources(src)
      .filter((file) => !file.startsWith(path.join(src, 'process') + path.sep))
      .flatMap((file) => {
        const text = readFileSync(file, 'utf8')
        return processControl.filter((re) => re.test(text)).map((re) => `${path.relative(src, file)}: ${re}`)
      })
    expect(offenders).toEqual([])
  })
})
