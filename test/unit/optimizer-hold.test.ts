import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'

// holdOptimizingCompilers in a fresh Node process: a hot function is not optimized while held, and is once
// released. V8's own %GetOptimizationStatus tells (bit 4: optimized, by Maglev or TurboFan).

const root = path.resolve(import.meta.dirname, '../..')
const tsxLoader = import.meta.resolve('tsx')
const moduleUrl = pathToFileURL(path.join(root, 'src/cli/optimizer-hold.ts')).href

const script = `
import { setImmediate as turn } from 'node:timers/promises'
const { holdOptimizingCompilers } = await import(${JSON.stringify(moduleUrl)})
const status = new Function('f', 'return %GetOptimizationStatus(f)')
const optimized = (f) => (status(f) & (1 << 4)) !== 0
/** Calls f hot, round after round (optimization is compiled on another thread): was it optimized? */
const heat = async (f) => {
  for (let round = 0; round < 40; round++) {
    for (let i = 0; i < 100_000; i++) f(i)
    await turn()
    if (optimized(f)) return true
  }
  return false
}
const sum = (n) => { let s = 0; for (let i = 0; i < 20; i++) s += i * n; return s }
const release = holdOptimizingCompilers()
const held = await heat(sum)
release()
console.log(JSON.stringify({ held, released: await heat(sum) }))
`

function run(flags: string[] = []) {
  const res = spawnSync(
    process.execPath,
    ['--allow-natives-syntax', ...flags, '--import', tsxLoader, '--input-type=module', '-e', script],
    { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, timeout: 120_000 },
  )
  expect(res.status, res.stderr).toBe(0)
  return JSON.parse(res.stdout.trim().split('\n').pop() ?? '{}') as { held: boolean; released: boolean }
}

describe('holdOptimizingCompilers', () => {
  it('keeps a hot function unoptimized while held, and optimizes it once released', () => {
    expect(run()).toEqual({ held: false, released: true })
  })

  it('leaves the compilers alone when the operator set a compiler flag', () => {
    expect(run(['--turbofan']).held).toBe(true)
  })
})
