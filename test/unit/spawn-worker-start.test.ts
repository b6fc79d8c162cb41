import { afterEach, beforeEach, expect, it } from 'vitest'
import { readText } from '../../src/process/lines.js'
import { spawnWorkerRunning } from '../../src/process/spawn-child.js'
import { spawnGroup } from '../../src/process/spawn-group.js'
import { removeDir, tempDir } from '../support/temp.js'

// A file of its own: the spawn worker is per process (vitest gives each file a fresh module), and this file must
// see it before anything started it.
let cwd: string
beforeEach(() => {
  cwd = tempDir('spawn-start-')
})
afterEach(() => removeDir(cwd))

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' }
const spawn = (script: string) =>
  spawnGroup({ command: 'sh', args: ['-c', script], cwd, env, killGraceMs: 1000 })

it('a burst of spawns starts the spawn worker (nothing did before); the burst runs paced meanwhile', async () => {
  expect(spawnWorkerRunning()).toBe(false)
  const burst = Array.from({ length: 3 }, (_, i) => spawn(`echo ${i}`))
  for (const proc of burst) expect(await proc.done).toMatchObject({ exitCode: 0, reason: 'exited' })
  await expect.poll(() => spawnWorkerRunning(), { timeout: 10_000 }).toBe(true)

  // and what spawns next still runs and ends (spawnChild hands it to the worker now)
  const proc = spawn('echo after')
  let output = ''
  for await (const t of readText(proc.stdout)) output += t
  expect(await proc.done).toMatchObject({ exitCode: 0 })
  expect(output.trim()).toBe('after')
})
