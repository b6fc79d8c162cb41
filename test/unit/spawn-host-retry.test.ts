import { readFileSync } from 'node:fs'
import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import { readText } from '../../src/process/lines.js'
import { spawnChild, spawnHostRunning } from '../../src/process/spawn-child.js'
import { spawnGroup } from '../../src/process/spawn-group.js'
import { fakePerformanceOnly } from '../support/fake-performance.js'
import { killAll, processesUnder, waitUntilGone } from '../support/processes.js'
import { removeDir, tempDir } from '../support/temp.js'

// A file of its own: it kills the spawn host this file's spawnChild() uses (one per process: vitest gives each file
// a fresh module). Only performance.now() is faked, so a host's age can be moved on; timers and I/O are real.
fakePerformanceOnly()

let cwd: string
beforeEach(() => {
  cwd = tempDir('spawn-retry-')
})
afterEach(async () => {
  killAll(processesUnder(cwd))
  await waitUntilGone(() => processesUnder(cwd), 5000)
  removeDir(cwd)
})

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' }

/** `sh -c script` as the server spawns it, fed `stdin`; its output and outcome. */
async function run(script: string, stdin?: string) {
  const proc = spawnGroup({ command: 'sh', args: ['-c', script], cwd, env, killGraceMs: 1000, stdin })
  let output = ''
  for await (const t of readText(proc.stdout)) output += t
  return { output, outcome: await proc.done }
}

const parentOfChild = async () => Number((await run('echo $PPID')).output.trim())

const state = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]
  } catch {
    return 'gone'
  }
}

/** Stops the host (it reads no request more), starts a spawn, then kills the host: that spawn was on its way. */
async function spawnWhileHostDies(host: number) {
  process.kill(host, 'SIGSTOP')
  await expect.poll(() => state(host)).toBe('T')
  const running = run('cat; echo $PPID', 'written before the host died\n')
  process.kill(host, 'SIGKILL')
  return running
}

it('a spawn on its way when the host dies is spawned again: here when the host died young, with its stdin', async () => {
  expect(await parentOfChild()).toBe(process.pid) // the lone first spawn
  const host = await parentOfChild()
  expect(host).not.toBe(process.pid)
  const { output, outcome } = await spawnWhileHostDies(host)
  expect(outcome).toMatchObject({ exitCode: 0, reason: 'exited' })
  expect(output).toBe(`written before the host died\n${process.pid}\n`)
  expect(spawnHostRunning()).toBe(false)
})

it('…and on a replacement host when the one that died had lived long enough, once only', async () => {
  vi.advanceTimersByTime(61_000)
  const second = await parentOfChild()
  expect(second).not.toBe(process.pid)
  expect(spawnHostRunning()).toBe(true)
  vi.advanceTimersByTime(61_000)
  const { output, outcome } = await spawnWhileHostDies(second)
  expect(outcome).toMatchObject({ exitCode: 0, reason: 'exited' })
  const [echoed, parent] = output.trim().split('\n')
  expect(echoed).toBe('written before the host died')
  const third = Number(parent)
  expect([process.pid, second]).not.toContain(third)
  expect(spawnHostRunning()).toBe(true)
  expect(await parentOfChild()).toBe(third)
  // the retry is not retried: its host dying as well fails the spawn
  vi.advanceTimersByTime(61_000)
  process.kill(third, 'SIGSTOP')
  await expect.poll(() => state(third)).toBe('T')
  // what spawnChild gives the host as a spawn's retry: the same spawn with no retry left
  const proc = spawnGroup({ command: 'true', args: [], cwd, env, killGraceMs: 1000 }, (spec) =>
    spawnChild(spec, 0),
  )
  process.kill(third, 'SIGKILL')
  expect(await proc.done).toMatchObject({
    reason: 'spawn_failed',
    error: expect.stringMatching(/spawn host ended/),
  })
})
