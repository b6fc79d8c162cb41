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

/** Each child says who its parent is: sh's $PPID, read when it starts (no race with a child that exits). */
async function parentOf(proc: ReturnType<typeof spawn>): Promise<number> {
  const ppid = Number((await outputOf(proc)).trim())
  expect(await proc.done).toMatchObject({ exitCode: 0, reason: 'exited' })
  return ppid
}

it('a lone spawn starts no spawn host; the second starts it, and every spawn after comes from it', async () => {
  expect(spawnHostRunning()).toBe(false)
  expect(await parentOf(spawn('echo $PPID'))).toBe(process.pid)
  expect(spawnHostRunning()).toBe(false)

  const burst = await Promise.all(Array.from({ length: 3 }, () => parentOf(spawn('echo $PPID'))))
  expect(spawnHostRunning()).toBe(true)
  expect(new Set(burst).size).toBe(1)
  const host = burst[0]!
  expect(host).not.toBe(process.pid)
  expect(listProcesses().find((p) => p.pid === host)?.ppid).toBe(process.pid)

  // and what spawns next comes from the same host
  expect(await parentOf(spawn('echo $PPID'))).toBe(host)
})
