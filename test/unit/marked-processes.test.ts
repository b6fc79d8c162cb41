import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { endMarked, pendingMarkers, signalMarkedHere } from '../../src/process/marked-processes.js'
import { procStat } from '../../src/process/proc-stat.js'
import { markerVariable } from '../../src/process/process-marker.js'
import { runningSpawnHost, spawnHostReady } from '../../src/process/spawn-child.js'
import { hostPassFromGateway } from '../support/host-pass-gateway.js'
import { suiteSpawnHost } from '../support/suite-spawn-host.js'
import { removeDir, tempDir } from '../support/temp.js'

/**
 * The sweep of ended programs' leftovers by their markers, over real processes: in the spawn host (where a pass
 * runs while it runs: no scan on the gateway's thread) and in this process (without a host). Each process here
 * stands for a daemon a run left: a session of its own, its environment the only link to its run.
 */
const started: ChildProcess[] = []

/** A daemon carrying `env`; `ignoreTerm`: it survives SIGTERM (only the SIGKILL pass ends it). */
async function daemon(env: Record<string, string>, ignoreTerm = false): Promise<ChildProcess> {
  const child = spawn('sh', ['-c', `${ignoreTerm ? "trap '' TERM; " : ''}echo up; exec sleep 300`], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
  })
  started.push(child)
  // once it wrote, its trap is set
  await new Promise((resolve) => child.stdout!.once('data', resolve))
  return child
}

/** Whether `pid` is a live process (not gone, not a zombie). */
const alive = (pid: number) => {
  const state = procStat(pid)?.state
  return state !== undefined && state !== 'Z'
}

const ended = (child: ChildProcess) =>
  new Promise<NodeJS.Signals | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.signalCode)
    else child.once('exit', (_code, signal) => resolve(signal))
  })

afterEach(() => {
  for (const child of started.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
})

describe.each([
  ['in the spawn host', 'host'],
  ['in this process', 'here'],
] as const)('a pass %s', (_name, where) => {
  const host = suiteSpawnHost(where)
  const pass = (signals: Record<string, NodeJS.Signals>, since?: number) =>
    where === 'host'
      ? host()!.signalMarked(signals, since)
      : Promise.resolve(signalMarkedHere(signals, since))

  it('signals each process carrying a marker of the pass (under either name), and no other', async () => {
    const [one, two, other] = [randomUUID(), randomUUID(), randomUUID()]
    const first = await daemon({ [markerVariable]: one })
    // a strict env filter's name for it (gemini: GEMINI_CLI_AGENT_GATEWAY_APP_SERVER)
    const second = await daemon({ [`GEMINI_CLI_${markerVariable}`]: two }, true)
    const another = await daemon({ [markerVariable]: other })
    const lookalike = await daemon({ OTHER: `${markerVariable}=${one}`, [`${markerVariable}_X`]: one })
    expect((await pass({ [one]: 'SIGTERM', [two]: 'SIGKILL' })).sort()).toEqual([one, two].sort())
    expect(await ended(first)).toBe('SIGTERM')
    expect(await ended(second)).toBe('SIGKILL')
    // another run's marker and a value that only looks like one are left alone
    expect(another.exitCode === null && another.signalCode === null).toBe(true)
    expect(lookalike.exitCode === null && lookalike.signalCode === null).toBe(true)
    expect(await pass({ [other]: 'SIGTERM' })).toEqual([other])
    expect(await ended(another)).toBe('SIGTERM')
  })

  it('skips, unsignalled, a process that started before `since` (its program did not exist yet)', async () => {
    const marker = randomUUID()
    const older = await daemon({ [markerVariable]: marker })
    const startTime = procStat(older.pid!)!.startTime
    expect(await pass({ [marker]: 'SIGTERM' }, startTime + 1)).toEqual([])
    expect(alive(older.pid!)).toBe(true)
    // started at `since` (the same clock tick as the program, or later): found
    expect(await pass({ [marker]: 'SIGTERM' }, startTime)).toEqual([marker])
    expect(await ended(older)).toBe('SIGTERM')
  })
})

describe('endMarked', () => {
  it('through the spawn host: SIGTERM, then SIGKILL after the grace for what ignored it; pending until then', async () => {
    expect(await spawnHostReady()).toBe(true)
    expect(runningSpawnHost()).toBeDefined()
    const marker = randomUUID()
    const stubborn = await daemon({ [markerVariable]: marker }, true)
    const exit = ended(stubborn)
    const start = performance.now()
    const over = endMarked(marker, 300)
    expect(pendingMarkers()).toContain(marker)
    // resolves once a pass found none left: the daemon is dead then (a zombie until this process reaps it)
    await over
    expect(alive(stubborn.pid!)).toBe(false)
    expect(performance.now() - start).toBeGreaterThanOrEqual(299)
    expect(pendingMarkers()).not.toContain(marker)
    expect(await exit).toBe('SIGKILL')
  })

  it('resolves once what SIGTERM ended is gone, long before the grace', async () => {
    const marker = randomUUID()
    const plain = await daemon({ [markerVariable]: marker })
    await endMarked(marker, 60_000)
    expect(alive(plain.pid!)).toBe(false)
    expect(await ended(plain)).toBe('SIGTERM')
  })
})

describe('a pass in the spawn host', () => {
  // a gateway run by another gateway's run carries that run's marker: the host's pass never signals its gateway
  it('never signals the gateway itself, though it carries a marker of the pass', {
    timeout: 30_000,
  }, async () => {
    const marker = randomUUID()
    const dir = tempDir('marked-')
    try {
      const pass = await hostPassFromGateway(
        dir,
        marker,
        `await host.signalMarked({ ${JSON.stringify(marker)}: 'SIGTERM' })`,
      )
      expect(pass).toEqual({ result: null, signalled: false })
    } finally {
      removeDir(dir)
    }
  })
})
