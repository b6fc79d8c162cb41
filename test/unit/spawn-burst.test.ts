import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { readText } from '../../src/process/lines.js'
import { pacedSpawn } from '../../src/process/paced-spawn.js'
import { type ChildSpawner, type GroupProcess, spawnGroup } from '../../src/process/spawn-group.js'
import { SpawnHost } from '../../src/process/spawn-host.js'
import { removeDir, tempDir } from '../support/temp.js'

/**
 * Spawning is synchronous (fork and exec in the calling thread), so a burst of spawns must not keep the event
 * loop from other work until all of them ran, whether they are paced on this thread or done by the spawn
 * host. Proven by order of events, never by timing.
 */
let cwd: string
let spawner: ChildSpawner
let host: SpawnHost | undefined
beforeAll(async () => {
  host = await SpawnHost.start()
})
afterAll(() => host?.stop())
beforeEach(() => {
  cwd = tempDir('pacing-')
})
afterEach(() => removeDir(cwd))

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' }

/** `count` spawns issued in one go, each echoing its stdin; `log` records when each one started. */
function burst(count: number, log: string[]): GroupProcess[] {
  return Array.from({ length: count }, (_, i) => {
    const proc = spawnGroup(
      { command: 'cat', args: [], cwd, env, killGraceMs: 1000, stdin: `child ${i}\n` },
      spawner,
    )
    void proc.started.then(() => log.push('spawned'))
    return proc
  })
}

async function outputOf(proc: GroupProcess): Promise<string> {
  let text = ''
  for await (const t of readText(proc.stdout)) text += t
  return text
}

describe.each([
  ['paced on this thread', () => pacedSpawn],
  ['from the spawn host', () => host!.spawn.bind(host)],
])('a burst of spawns %s', (_how, choose: () => ChildSpawner) => {
  beforeEach(() => {
    spawner = choose()
  })

  it('lets timers and I/O callbacks run between spawns, and every child still gets its stdin', async () => {
    const log: string[] = []
    const procs = burst(30, log)
    setImmediate(() => log.push('immediate'))
    setTimeout(() => log.push('timer'), 0)
    const outputs = await Promise.all(procs.map(outputOf))
    const outcomes = await Promise.all(procs.map((p) => p.done))
    expect(outputs).toEqual(procs.map((_, i) => `child ${i}\n`))
    expect(outcomes.every((o) => o.exitCode === 0 && o.reason === 'exited')).toBe(true)
    // both callbacks ran while most of the burst was still waiting for its turn
    expect(log).toEqual(expect.arrayContaining(['immediate', 'timer']))
    expect(log.indexOf('immediate')).toBeLessThan(log.lastIndexOf('spawned'))
    expect(log.indexOf('timer')).toBeLessThan(log.lastIndexOf('spawned'))
    expect(log.filter((e) => e === 'spawned')).toHaveLength(30)
  })

  it('lets another HTTP request be answered before the burst has spawned', async () => {
    const server = http.createServer((_req, res) => res.end('pong'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = server.address() as AddressInfo
      const log: string[] = []
      const answered = fetch(`http://127.0.0.1:${port}/`).then(async (r) =>
        log.push(`answered ${await r.text()}`),
      )
      const procs = burst(60, log)
      await answered
      await Promise.all(procs.map((p) => p.done))
      expect(log).toContain('answered pong')
      expect(log.indexOf('answered pong')).toBeLessThan(log.lastIndexOf('spawned'))
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('ends a child cancelled before its turn came as soon as it runs, and still reports it', async () => {
    const log: string[] = []
    const procs = burst(5, log)
    const controller = new AbortController()
    const late = spawnGroup(
      { command: 'sleep', args: ['30'], cwd, env, killGraceMs: 1000, signal: controller.signal },
      spawner,
    )
    controller.abort('cancelled')
    const outcome = await late.done
    expect(outcome.reason).toBe('cancelled')
    expect(outcome.signal).toBe('SIGTERM')
    await Promise.all(procs.map((p) => p.done))
  })
})
