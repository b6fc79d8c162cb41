import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'

// holdYoungGeneration in a fresh Node process: V8's young generation stays at its initial size while held,
// even under an allocation pattern that grows it, and grows again once released.

const root = path.resolve(import.meta.dirname, '../..')
const tsxLoader = import.meta.resolve('tsx')
const moduleUrl = pathToFileURL(path.join(root, 'src/cli/young-generation.ts')).href

const script = `
import v8 from 'node:v8'
const { holdYoungGeneration } = await import(${JSON.stringify(moduleUrl)})
const newSpaceMb = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 2 ** 20
/** Allocates objects that survive young collections (what makes V8 grow the young generation). */
const churn = () => {
  const kept = []
  for (let i = 0; i < 400_000; i++) kept.push({ i, s: 'x' + i })
  return kept.length
}
const start = newSpaceMb()
const release = holdYoungGeneration()
churn()
const held = newSpaceMb()
release()
churn()
console.log(JSON.stringify({ start, held, released: newSpaceMb() }))
`

function run(env: NodeJS.ProcessEnv = {}) {
  const res = spawnSync(process.execPath, ['--import', tsxLoader, '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    timeout: 120_000,
  })
  expect(res.status, res.stderr).toBe(0)
  return JSON.parse(res.stdout.trim().split('\n').pop() ?? '{}') as {
    start: number
    held: number
    released: number
  }
}

describe('holdYoungGeneration', () => {
  it('keeps the young generation at its start size while held, and lets it grow once released', () => {
    const { start, held, released } = run()
    expect(held).toBe(start)
    expect(released).toBeGreaterThan(held)
  })

  it('leaves the young generation alone when the operator set a semi-space flag', () => {
    const { start, held } = run({ NODE_OPTIONS: '--max-semi-space-size=64' })
    expect(held).toBeGreaterThan(start)
  })
})
