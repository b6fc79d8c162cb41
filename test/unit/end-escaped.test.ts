import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type EscapeScope, endEscaped, signalEscapedHere } from '../../src/process/escaped-processes.js'
import { hostPassTimeoutMs } from '../../src/process/host-pass.js'
import { markerVariable } from '../../src/process/process-marker.js'
import { runningSpawnHost, spawnHostReady } from '../../src/process/spawn-child.js'
import { hostPassFromGateway } from '../support/host-pass-gateway.js'
import { suiteSpawnHost } from '../support/suite-spawn-host.js'
import { removeDir, tempDir } from '../support/temp.js'

/**
 * The scan for what escaped a long-lived agent's process tree after one of its turns (escaped-processes.ts), over
 * real processes: in the spawn host (what the gateway does while it has one: no scan on its thread) and on this
 * thread (without a host). The agent is a shell with a child of its own; an escaped command is a `setsid sleep`
 * started by this process (its parent chain never reaches the agent), carrying the agent's marker.
 */
const started: ChildProcess[] = []
/** Agents' process groups (the agent and its own child). */
const groups: number[] = []
let dir: string

beforeAll(() => {
  dir = tempDir('escaped-')
})
afterAll(() => removeDir(dir))
afterEach(() => {
  for (const child of started.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  for (const group of groups.splice(0)) {
    try {
      process.kill(-group, 'SIGKILL')
    } catch {
      // gone
    }
  }
})

/** Runs `script` (sh) in `cwd` with the marker; resolves once it printed its first line (its pid, or 'up'). */
async function shell(
  cwd: string,
  marker: string,
  script: string,
  detached = false,
): Promise<{ child: ChildProcess; line: string }> {
  mkdirSync(cwd, { recursive: true })
  const child = spawn('sh', ['-c', script], {
    cwd,
    detached,
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', [markerVariable]: marker },
  })
  started.push(child)
  const line = await new Promise<string>((resolve) =>
    child.stdout!.once('data', (data: Buffer) => resolve(data.toString().trim())),
  )
  return { child, line }
}

/** The agent process: its own child (a background terminal) works in `cwd` too, and must be left alone. */
async function agent(cwd: string, marker: string) {
  const { child, line } = await shell(cwd, marker, 'sleep 300 & echo $!; wait', true)
  groups.push(child.pid!)
  return { root: child.pid!, ownChild: Number(line) }
}

/**
 * A command that escaped the agent's tree (its own session), working in `cwd`; `ignoreTerm`: only SIGKILL ends it.
 * Not a group leader, so `setsid` execs the sleep in place (no fork): the child's pid is the sleep's.
 */
async function escaped(cwd: string, marker: string, ignoreTerm = false): Promise<ChildProcess> {
  const trap = ignoreTerm ? "trap '' TERM; " : ''
  const { child } = await shell(cwd, marker, `${trap}echo up; exec setsid sleep 300`)
  // until its last exec is over, its /proc environ may read empty (not found by a scan, as in real life)
  await expect.poll(() => comm(child.pid!)).toBe('sleep')
  return child
}

const comm = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
  } catch {
    return null
  }
}

const ended = (child: ChildProcess) =>
  new Promise<NodeJS.Signals | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.signalCode)
    else child.once('exit', (_code, signal) => resolve(signal))
  })
const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null
const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe.each([
  ['in the spawn host', 'host'],
  ['on this thread', 'here'],
] as const)('a scan %s', (_name, where) => {
  const host = suiteSpawnHost(where)
  const scan = (root: number, marker: string, scope: EscapeScope, signal: NodeJS.Signals) =>
    where === 'host'
      ? host()!.signalEscaped({ root, marker, scope, signal })
      : Promise.resolve(signalEscapedHere(root, marker, scope, signal))

  it("signals what escaped into the turn's directory, not the agent's own child, nor what works elsewhere", async () => {
    const marker = randomUUID()
    const turn = path.join(dir, `${where}-turn`)
    const { root, ownChild } = await agent(turn, marker)
    const inside = await escaped(path.join(turn, 'sub'), marker)
    const outside = await escaped(path.join(dir, `${where}-other`), marker)
    const otherAgent = await escaped(turn, randomUUID())
    // an unnormalised path: the scope's directories are resolved where the scan runs
    expect(await scan(root, marker, { within: [`${turn}/./`], except: [] }, 'SIGTERM')).toBe(1)
    expect(await ended(inside)).toBe('SIGTERM')
    expect(running(outside)).toBe(true)
    expect(running(otherAgent)).toBe(true)
    expect(alive(ownChild)).toBe(true)
    expect(alive(root)).toBe(true)
  })

  it('signals nothing in a directory a live turn works in, or above', async () => {
    const marker = randomUUID()
    const turn = path.join(dir, `${where}-shared`)
    const { root } = await agent(dir, marker)
    const inside = await escaped(turn, marker)
    expect(await scan(root, marker, { within: [turn], except: [dir] }, 'SIGTERM')).toBe(0)
    expect(await scan(root, marker, { within: [turn], except: [turn] }, 'SIGTERM')).toBe(0)
    expect(running(inside)).toBe(true)
    expect(await scan(root, marker, { within: [turn], except: [] }, 'SIGKILL')).toBe(1)
    expect(await ended(inside)).toBe('SIGKILL')
  })
})

describe('endEscaped', () => {
  // first without a host (this file runs in a fresh process: none started yet), then with the process's host
  describe.each([
    ['without a spawn host (on this thread)', false],
    ['through the spawn host', true],
  ] as const)('%s', (_name, withHost) => {
    beforeAll(async () => {
      if (withHost) expect(await spawnHostReady()).toBe(true)
      expect(runningSpawnHost() !== undefined).toBe(withHost)
    })

    it('SIGTERM, then SIGKILL after the grace for what ignored it, the scope asked at each pass', async () => {
      const marker = randomUUID()
      const turn = path.join(dir, `end-${withHost}`)
      const { root, ownChild } = await agent(turn, marker)
      const polite = await escaped(turn, marker)
      const stubborn = await escaped(turn, marker, true)
      const outside = await escaped(path.join(dir, `end-${withHost}-other`), marker, true)
      let asked = 0
      const start = performance.now()
      await endEscaped(
        root,
        marker,
        () => {
          asked++
          return { within: [turn], except: [] }
        },
        300,
      )
      expect(performance.now() - start).toBeGreaterThanOrEqual(299)
      // SIGTERM, looks while the stubborn one had its grace, SIGKILL, and a look that found none
      expect(asked).toBeGreaterThanOrEqual(4)
      expect(await ended(polite)).toBe('SIGTERM')
      expect(await ended(stubborn)).toBe('SIGKILL')
      expect(running(outside)).toBe(true)
      expect(alive(ownChild)).toBe(true)
    })

    it('resolves once what SIGTERM ended is gone, without waiting out the grace', async () => {
      const marker = randomUUID()
      const turn = path.join(dir, `polite-${withHost}`)
      const { root } = await agent(turn, marker)
      const polite = await escaped(turn, marker)
      // a grace far longer than the test's time: only a look that found none ends the sweep (on the old code it
      // waited the grace out)
      await endEscaped(root, marker, () => ({ within: [turn], except: [] }), 600_000)
      expect(await ended(polite)).toBe('SIGTERM')
    })

    it('a run started in the same directory before the SIGKILL pass is respected', async () => {
      const marker = randomUUID()
      const turn = path.join(dir, `again-${withHost}`)
      const { root } = await agent(dir, marker)
      const stubborn = await escaped(turn, marker, true)
      const scopes: EscapeScope[] = [
        { within: [turn], except: [] },
        // by the SIGKILL pass a new turn works there: nothing in it can be told apart any more
        { within: [turn], except: [turn] },
      ]
      await endEscaped(root, marker, () => scopes.shift(), 50)
      expect(scopes).toEqual([])
      expect(running(stubborn)).toBe(true)
    })

    it('no scope (a turn of the same thread runs): nothing is scanned', async () => {
      const marker = randomUUID()
      const { root } = await agent(dir, marker)
      const inside = await escaped(dir, marker)
      await endEscaped(root, marker, () => undefined, 50)
      expect(running(inside)).toBe(true)
    })
  })
})

describe('endEscaped with a spawn host that does not answer', () => {
  let stopped: number | undefined
  afterEach(() => {
    if (stopped !== undefined) process.kill(stopped, 'SIGCONT')
    stopped = undefined
  })

  // the host's time to answer is 10 s in the gateway (hostPassTimeoutMs); 1 s here, which the test waits out
  it('scans on this thread once the host did not answer in time, with the scope asked again', {
    timeout: 60_000,
  }, async () => {
    expect(await spawnHostReady()).toBe(true)
    const host = runningSpawnHost()!
    const marker = randomUUID()
    const turn = path.join(dir, 'hung')
    const { root } = await agent(turn, marker)
    const inside = await escaped(turn, marker)
    // the host stands still (stopped): its pass never answers
    stopped = host.pid!
    process.kill(stopped, 'SIGSTOP')
    const scopes: Array<EscapeScope | undefined> = [
      { within: [path.join(dir, 'elsewhere')], except: [] },
      { within: [turn], except: [] },
    ]
    const start = performance.now()
    await endEscaped(root, marker, () => scopes.shift(), 50, 1000)
    // asked for the host's pass (a scope that finds nothing), then again here, which found and ended it
    expect(scopes).toEqual([])
    expect(await ended(inside)).toBe('SIGTERM')
    expect(performance.now() - start).toBeGreaterThanOrEqual(999)
    expect(hostPassTimeoutMs).toBe(10_000)
  })
})

describe("the spawn host's scan", () => {
  // a gateway run by another gateway's run carries that run's marker and may work in the turn's directory
  it('never signals the gateway itself, though it carries the marker and works in the scope', {
    timeout: 30_000,
  }, async () => {
    const marker = randomUUID()
    const scriptDir = tempDir('escaped-gateway-')
    try {
      const pass = await hostPassFromGateway(
        scriptDir,
        marker,
        `// the scope: a directory only this process works in (what tsx started works where it was started)
process.chdir(${JSON.stringify(scriptDir)})
// root: no such process (pid_max is 2^22 at most), so no parent chain reaches it
return host.signalEscaped({ root: 2 ** 22 + 1, marker: ${JSON.stringify(marker)}, scope: { within: [process.cwd()], except: [] }, signal: 'SIGTERM' })`,
      )
      expect(pass).toEqual({ result: 0, signalled: false })
    } finally {
      removeDir(scriptDir)
    }
  })
})
