import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import { readText } from '../../src/process/lines.js'
import { spawnHostRunning } from '../../src/process/spawn-child.js'
import { spawnGroup } from '../../src/process/spawn-group.js'
import { fakePerformanceOnly } from '../support/fake-performance.js'
import { removeDir, tempDir } from '../support/temp.js'

// A file of its own: the spawn host is per process (vitest gives each file a fresh module). Only performance.now()
// is faked, so the host's age can be moved on; timers and I/O are real.
fakePerformanceOnly()

let cwd: string
beforeEach(() => {
  cwd = tempDir('spawn-replace-')
})
afterEach(() => removeDir(cwd))

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' }

/** A child that says who its parent is (sh's $PPID, read when it starts). */
async function parentOfChild(): Promise<number> {
  const proc = spawnGroup({ command: 'sh', args: ['-c', 'echo $PPID'], cwd, env, killGraceMs: 1000 })
  let output = ''
  for await (const t of readText(proc.stdout)) output += t
  expect(await proc.done).toMatchObject({ exitCode: 0, reason: 'exited' })
  return Number(output.trim())
}

it('a host that died young is not replaced; one that died after a long life is, at the next spawn', async () => {
  expect(await parentOfChild()).toBe(process.pid) // the lone first spawn
  const first = await parentOfChild()
  expect(first).not.toBe(process.pid)
  expect(spawnHostRunning()).toBe(true)

  process.kill(first, 'SIGKILL')
  await expect.poll(() => spawnHostRunning()).toBe(false)
  // it lived less than a minute: spawns stay on this thread
  expect(await parentOfChild()).toBe(process.pid)
  expect(spawnHostRunning()).toBe(false)

  // the same death after a long life: the next spawn starts another host and comes from it
  vi.advanceTimersByTime(61_000)
  const second = await parentOfChild()
  expect(second).not.toBe(process.pid)
  expect(second).not.toBe(first)
  expect(spawnHostRunning()).toBe(true)
  expect(await parentOfChild()).toBe(second)
})
