import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import fs, { readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { endMarked, signalMarkedHere } from '../../src/process/marked-processes.js'
import { type PidWindow, pidSnapshot, pidWindow } from '../../src/process/pid-window.js'
import { procScan } from '../../src/process/proc-scan.js'
import { procStat } from '../../src/process/proc-stat.js'
import { markerVariable } from '../../src/process/process-marker.js'
import { runningSpawnHost, spawnHostReady } from '../../src/process/spawn-child.js'
import { spawnGroup } from '../../src/process/spawn-group.js'
import { suiteSpawnHost } from '../support/suite-spawn-host.js'

/**
 * A sweep of a program's leftovers looks only at the processes whose pids were given out since its leader's
 * (pid-window.ts), not at every process of the machine; what nothing can carry costs no pass in the spawn host.
 */
const started: ChildProcess[] = []

afterEach(() => {
  for (const child of started.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
})

/** A daemon in a session of its own carrying `env`, once it runs. */
async function daemon(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn('sh', ['-c', 'echo up; exec sleep 300'], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
  })
  started.push(child)
  await new Promise((resolve) => child.stdout!.once('data', resolve))
  return child
}

const alive = (child: ChildProcess) => {
  const state = procStat(child.pid!)?.state
  return state !== undefined && state !== 'Z'
}

const ended = (child: ChildProcess) =>
  new Promise<NodeJS.Signals | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.signalCode)
    else child.once('exit', (_code, signal) => resolve(signal))
  })

describe('windowTest (the bound of where new pids lie)', () => {
  const now = () => procScan().pidCounters()!

  it('holds for the leader and what was forked after it, not for what was forked before', async () => {
    const older = await daemon({})
    const snapshot = pidSnapshot()!
    expect(snapshot).not.toBeNull()
    const leader = await daemon({})
    const newer = await daemon({})
    const test = procScan().windowTest([pidWindow(snapshot, leader.pid)!])!
    expect(test).toBeDefined()
    expect([test(leader.pid!), test(newer.pid!), test(older.pid!), test(process.pid)]).toEqual([
      true,
      true,
      false,
      false,
    ])
  })

  it("bounds nothing once the cursor may have gone round past the leader's pid (then every process is looked at)", () => {
    const { forks, tasks, lastPid, pidMax } = now()
    const window: PidWindow = { pid: lastPid, forks, tasks, pidMax }
    // a machine with more tasks than a third of its pids has no bound at all
    if (3 * tasks + 4000 < pidMax) expect(procScan().windowTest([window])).toBeDefined()
    // forks since the snapshot (4 steps each at most) or ids in use (3 each) enough to go round
    expect(procScan().windowTest([{ ...window, forks: forks - Math.ceil(pidMax / 4) }])).toBeUndefined()
    expect(procScan().windowTest([{ ...window, tasks: Math.ceil(pidMax / 3) }])).toBeUndefined()
    // pid_max lowered since (a smaller circle)
    expect(procScan().windowTest([{ ...window, pidMax: 3 * tasks + 300 }])).toBeUndefined()
    // one unbounded window of a pass unbinds it all
    expect(procScan().windowTest([window, { ...window, forks: forks - pidMax }])).toBeUndefined()
    expect(procScan().windowTest([])).toBeUndefined()
  })

  it('wraps: a leader given a pid above the last one given holds the pids from it to pid_max and from 1 on', () => {
    const { forks, tasks, lastPid, pidMax } = now()
    // near the wrap already: no room for a leader far enough above the last pid
    if (lastPid + 1000 >= pidMax) return
    const test = procScan().windowTest([{ pid: lastPid + 1000, forks, tasks, pidMax }])!
    expect([test(lastPid + 1000), test(pidMax - 1), test(300), test(lastPid), test(lastPid + 500)]).toEqual([
      true,
      true,
      true,
      true,
      false,
    ])
  })
})

describe.each([
  ['in the spawn host', 'host'],
  ['in this process', 'here'],
] as const)('a windowed pass %s', (_name, where) => {
  const host = suiteSpawnHost(where)
  const pass = (signals: Record<string, NodeJS.Signals>, windows: PidWindow[]) =>
    where === 'host'
      ? host()!.signalMarked(signals, 0, windows)
      : Promise.resolve(signalMarkedHere(signals, 0, windows))

  it("skips, unsignalled, a marked process given its pid before the window's leader", async () => {
    const marker = randomUUID()
    const older = await daemon({ [markerVariable]: marker })
    const snapshot = pidSnapshot()
    const leader = await daemon({ [markerVariable]: marker })
    const window = pidWindow(snapshot, leader.pid)!
    expect(await pass({ [marker]: 'SIGTERM' }, [window])).toEqual([marker])
    expect(await ended(leader)).toBe('SIGTERM')
    expect(alive(older)).toBe(true)
    // a window that bounds nothing: every process is looked at again
    expect(await pass({ [marker]: 'SIGTERM' }, [{ ...window, forks: 0 }])).toEqual([marker])
    expect(await ended(older)).toBe('SIGTERM')
  })
})

describe('endMarked with the window of its program', () => {
  it('makes no pass in the spawn host when no process was given a pid since its leader (or a few only)', async () => {
    expect(await spawnHostReady()).toBe(true)
    const host = runningSpawnHost()!
    const hostPass = vi.spyOn(host, 'signalMarked')
    try {
      const snapshot = pidSnapshot()
      const leader = spawn('true', { stdio: 'ignore' })
      await ended(leader)
      await endMarked(randomUUID(), 1000, undefined, pidWindow(snapshot, leader.pid))
      expect(hostPass).not.toHaveBeenCalled()
    } finally {
      hostPass.mockRestore()
    }
  })

  it("a program's window holds what it left in a session of its own", async () => {
    const proc = spawnGroup({
      command: 'sh',
      args: ['-c', 'setsid sleep 34 </dev/null >/dev/null 2>&1 & echo $!'],
      cwd: tmpdir(),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      killGraceMs: 500,
    })
    let out = ''
    proc.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    const pid = await proc.started
    // the group ends with its leader; the helper, in a session of its own, is left (a runner's sweep ends it)
    await proc.done
    const helper = Number(out.trim())
    try {
      expect(helper).toBeGreaterThan(0)
      expect(proc.pidWindow?.pid).toBe(pid)
      expect(procScan().windowTest([proc.pidWindow!])!(helper)).toBe(true)
    } finally {
      if (helper > 0) process.kill(helper, 'SIGKILL')
    }
  })
})

describe('windowPids (the live processes of a pass’s windows)', () => {
  /** The ids of `pid`'s threads but its own (each answers at /proc/<id>, hidden from the listing of /proc). */
  const threadsOf = (pid: number) =>
    readdirSync(`/proc/${pid}/task`)
      .map(Number)
      .filter((id) => id !== pid)

  it('looks at a window of a few ids id by id, without listing /proc: its processes, not their threads', async () => {
    const older = await daemon({})
    const snapshot = pidSnapshot()
    // a Node process: threads of its own, given ids after its pid
    const leader = spawn(process.execPath, ['-e', 'console.log("up"); setInterval(() => {}, 1000)'], {
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    started.push(leader)
    await new Promise((resolve) => leader.stdout!.once('data', resolve))
    const newer = await daemon({})
    const threads = threadsOf(leader.pid!)
    expect(threads.length).toBeGreaterThan(0)
    const window = pidWindow(snapshot, leader.pid)!
    const listing = vi.spyOn(fs, 'readdirSync')
    try {
      // any span looked at id by id (on a busy machine more than the default's few ids are given meanwhile)
      const probed = procScan().windowPids([window], [newer.pid!], 1_000_000)!
      expect(listing).not.toHaveBeenCalled()
      // a span past the bound: listed, the same processes
      const listed = procScan().windowPids([window], [newer.pid!], 0)!
      expect(listing).toHaveBeenCalledWith('/proc')
      for (const pids of [probed, listed]) {
        expect(pids).toContain(leader.pid)
        expect(pids).not.toContain(older.pid)
        expect(pids).not.toContain(newer.pid) // excepted
        expect(pids).not.toContain(process.pid)
        expect(pids.filter((id) => threads.includes(id))).toEqual([])
      }
    } finally {
      listing.mockRestore()
    }
  })
})
