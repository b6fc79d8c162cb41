import { afterEach, beforeEach, expect, it } from 'vitest'
import { readText } from '../../src/process/lines.js'
import { spawnHostRunning } from '../../src/process/spawn-child.js'
import { spawnGroup } from '../../src/process/spawn-group.js'
import { listProcesses } from '../support/processes.js'
import { removeDir, tempDir } from '../support/temp.js'

// A file of its own: the spawn host is per process (vitest gives each file a fresh module), and this file must
// see it before anything started it.
let cwd: string
beforeEach(() => {
  cwd = tempDir('spawn-start-')
})
afterEach(() => removeDir(cwd))

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' }
const spawn = (script: string) =>
  spawnGroup({ command: 'sh', args: ['-c', script], cwd, env, killGraceMs: 1000 })

async function outputOf(proc: ReturnType<typeof spawn>): Promise<string> {
  let output = ''
  for await (const t of readText(proc.stdout)) output += t
  return output
}

it('the first spawn starts the spawn host and waits for it: no child is forked by this process', async () => {
  expect(spawnHostRunning()).toBe(false)
  const first = Array.from({ length: 3 }, (_, i) => spawn(`echo ${i}; sleep 0.2`))
  const pids = await Promise.all(first.map((proc) => proc.started))
  expect(spawnHostRunning()).toBe(true)
  const parents = pids.map((pid) => listProcesses().find((p) => p.pid === pid)?.ppid)
  expect(parents.every((ppid) => ppid !== undefined && ppid !== process.pid)).toBe(true)
  expect(new Set(parents).size).toBe(1)
  expect(await Promise.all(first.map(outputOf))).toEqual(['0\n', '1\n', '2\n'])
  for (const proc of first) expect(await proc.done).toMatchObject({ exitCode: 0, reason: 'exited' })

  // and what spawns next comes from the same host
  const next = spawn('echo after; sleep 0.2')
  const pid = await next.started
  expect(listProcesses().find((p) => p.pid === pid)?.ppid).toBe(parents[0])
  expect((await outputOf(next)).trim()).toBe('after')
  expect(await next.done).toMatchObject({ exitCode: 0 })
})
