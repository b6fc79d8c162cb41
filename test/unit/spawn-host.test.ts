import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readLines, readText } from '../../src/process/lines.js'
import { pacedSpawn } from '../../src/process/paced-spawn.js'
import { serverMarker } from '../../src/process/server-marker.js'
import { spawnHostReady } from '../../src/process/spawn-child.js'
import { spawnDirs } from '../../src/process/spawn-dirs.js'
import { type ChildSpawner, spawnGroup } from '../../src/process/spawn-group.js'
import { SpawnHost } from '../../src/process/spawn-host.js'
import { sweepTempDirs } from '../../src/process/temp-dirs.js'
import { expectSwept, makeLookAlikes } from '../support/owned-dir-lookalikes.js'
import { listProcesses, processesInGroup, waitUntilGone } from '../support/processes.js'
import { moduleUrl, startScriptGateway } from '../support/script-gateway.js'
import { removeDir, tempDir } from '../support/temp.js'

/** Minor page faults of this process so far (/proc/self/stat, field 10). */
const minorFaults = () => Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ')[7])

let cwd: string
beforeEach(() => {
  cwd = tempDir('spawn-host-')
})
afterEach(() => removeDir(cwd))

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' }

/** A command that starts a daemon out of its tree (a double fork into a session of its own), prints its pid, waits. */
const escapingDaemon = `(setsid sh -c 'echo $$; exec sleep 120' &); exec sleep 120`

/** Whether `pid` runs (a zombie does not). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL')
  } catch {}
}

async function textOf(stream: NodeJS.ReadableStream & import('node:stream').Readable): Promise<string> {
  let text = ''
  for await (const t of readText(stream)) text += t
  return text
}

describe('the spawn host', () => {
  it('is what spawnGroup uses: the child is the host’s, its stdio sockets this process’s', async () => {
    expect(await spawnHostReady()).toBe(true)
    const proc = spawnGroup({
      command: 'sh',
      args: ['-c', 'cat; readlink /proc/$$/fd/0 /proc/$$/fd/1; echo $PPID'],
      cwd,
      env,
      killGraceMs: 1000,
      stdin: 'through the socket\n',
    })
    const output = textOf(proc.stdout)
    expect(await proc.done).toMatchObject({ exitCode: 0, reason: 'exited' })
    const [echoed, stdin, stdout, parent] = (await output).trim().split('\n')
    expect(echoed).toBe('through the socket')
    expect(stdin).toMatch(/^socket:/)
    expect(stdout).toMatch(/^socket:/)
    // its parent is the host, a child of this process
    const host = Number(parent)
    expect(host).not.toBe(process.pid)
    expect(listProcesses().find((p) => p.pid === host)?.ppid).toBe(process.pid)
  })

  it('gets none of this process’s environment: no secret of the gateway’s reaches it', async () => {
    process.env.AGW_SPAWN_HOST_TEST_TOKEN = 'not-for-the-host-4a7c'
    const host = await SpawnHost.start()
    try {
      expect(host?.pid).toBeDefined()
      const environ = readFileSync(`/proc/${host!.pid}/environ`, 'latin1').split('\0').filter(Boolean)
      const names = environ
        .map((entry) => entry.split('=')[0])
        .filter((name) => !name?.startsWith('NODE_CHANNEL_'))
      // the marker is this process's pid and start time (server-marker.ts): what it kills by should this process die
      expect(names.sort()).toEqual(['AGENT_GATEWAY_SPAWN_MARKER', 'AGENT_GATEWAY_SPAWN_SOCKET', 'PATH'])
      expect(environ).toContain(`AGENT_GATEWAY_SPAWN_MARKER=${serverMarker()}`)
      // and its children get exactly the environment asked for (spawnGroup adds the server's and the group's
      // markers, in PATH too), none of the host's
      const proc = spawnGroup({ command: 'env', args: [], cwd, env, killGraceMs: 1000 }, (s) =>
        host!.spawn(s),
      )
      const lines = (await textOf(proc.stdout)).trim().split('\n')
      const markers = /^AGENT_GATEWAY_(SERVER|APP_SERVER)=/
      const [pathLine, ...others] = lines.filter((line) => !markers.test(line))
      expect(others).toEqual([])
      expect(pathLine?.startsWith(`PATH=${env.PATH}:`)).toBe(true)
      expect(pathLine?.slice(`PATH=${env.PATH}:`.length)).toMatch(
        /^\/proc\/agent-gateway\/AGENT_GATEWAY_APP_SERVER=[^:]+:\/proc\/agent-gateway\/AGENT_GATEWAY_SERVER=[^:]+$/,
      )
      expect(await proc.done).toMatchObject({ exitCode: 0 })
    } finally {
      delete process.env.AGW_SPAWN_HOST_TEST_TOKEN
      await host?.stop()
    }
  })

  it('leaves this process’s memory alone: no copy-on-write page faults after a spawn (a fork makes them)', async () => {
    const host = (await SpawnHost.start())!
    const pages = 8192
    const memory = Buffer.alloc(pages * 4096, 1)
    const touch = () => {
      for (let i = 0; i < memory.length; i += 4096) memory[i]! += 1
    }
    const faultsWhile = async (spawner: ChildSpawner) => {
      touch()
      const proc = spawnGroup({ command: 'true', args: [], cwd, env, killGraceMs: 1000 }, spawner)
      expect(await proc.done).toMatchObject({ exitCode: 0, reason: 'exited' })
      const before = minorFaults()
      touch()
      return minorFaults() - before
    }
    try {
      // the same spawn forked by this process: every page written since is copied on its next write
      expect(await faultsWhile(pacedSpawn)).toBeGreaterThanOrEqual(pages)
      expect(await faultsWhile((s) => host.spawn(s))).toBeLessThan(pages / 8)
    } finally {
      await host.stop()
    }
  })

  it('ends the children it spawned when the gateway is killed: no process outlives a gateway that died', async () => {
    const gateway = startScriptGateway(
      cwd,
      `import { SpawnHost } from ${moduleUrl('src/process/spawn-host.ts')}
const host = await SpawnHost.start()
const child = host.spawn({ command: 'sh', args: ['-c', 'sleep 60 & sleep 60'], cwd: ${JSON.stringify(cwd)}, env: { PATH: process.env.PATH } })
console.log(await child.started)`,
    )
    let pid: number | undefined
    try {
      pid = Number(await gateway.firstLine)
      await expect.poll(() => processesInGroup(pid!).length).toBe(3)
    } finally {
      await gateway.kill()
    }
    expect(await waitUntilGone(() => processesInGroup(pid!), 5000)).toEqual([])
  })

  it('the gateway killed: what its children started outside their groups (by its marker) is killed too', async () => {
    // a daemon in a session of its own (double fork), carrying the gateway's marker as every descendant does
    const gateway = startScriptGateway(
      cwd,
      `import { SpawnHost } from ${moduleUrl('src/process/spawn-host.ts')}
import { spawnGroup } from ${moduleUrl('src/process/spawn-group.ts')}
import { readLines } from ${moduleUrl('src/process/lines.ts')}
const host = await SpawnHost.start()
const proc = spawnGroup({ command: 'sh', args: ['-c', ${JSON.stringify(escapingDaemon)}], cwd: ${JSON.stringify(cwd)}, env: { PATH: process.env.PATH }, killGraceMs: 1000 }, (s) => host.spawn(s))
for await (const line of readLines(proc.stdout)) { console.log(line); break }`,
    )
    let daemon: number | undefined
    try {
      daemon = Number(await gateway.firstLine)
      expect(alive(daemon)).toBe(true)
    } finally {
      await gateway.kill()
    }
    try {
      // the host's sweep after its channel closed, on a loaded machine: seconds; the daemon would sleep 120 s
      await expect.poll(() => alive(daemon!), { timeout: 15_000 }).toBe(false)
    } finally {
      killPid(daemon!)
    }
  })

  it('a host let go (its stop) while the gateway lives leaves the gateway its processes', async () => {
    const host = await SpawnHost.start()
    expect(host).toBeDefined()
    const proc = spawnGroup(
      { command: 'sh', args: ['-c', escapingDaemon], cwd, env, killGraceMs: 1000 },
      (s) => host!.spawn(s),
    )
    let daemon: number | undefined
    try {
      for await (const line of readLines(proc.stdout)) {
        daemon = Number(line)
        break
      }
      await host!.stop()
      // the host killed its child's group only: the daemon is this (living) gateway's to end
      expect(alive(daemon!)).toBe(true)
    } finally {
      if (daemon) killPid(daemon)
    }
    // its output closed with the daemon gone
    expect(await proc.done).toMatchObject({ signal: 'SIGKILL' })
  })

  it('listens where only this user may connect, and drops a connection that does not name a spawn', async () => {
    const host = await SpawnHost.start()
    try {
      expect(host).toBeDefined()
      const socketPath = host!.socketPath
      expect(statSync(path.dirname(socketPath)).mode & 0o777).toBe(0o700)
      expect(statSync(socketPath).mode & 0o777).toBe(0o600)
      const stranger = net.connect(socketPath)
      stranger.on('error', () => {})
      stranger.write(`${'0'.repeat(32)}1`)
      await new Promise((resolve) => stranger.once('close', resolve))
      // and it still spawns
      const proc = spawnGroup({ command: 'true', args: [], cwd, env, killGraceMs: 1000 }, (s) =>
        host!.spawn(s),
      )
      expect(await proc.done).toMatchObject({ exitCode: 0, reason: 'exited' })
    } finally {
      await host?.stop()
    }
  })

  it('lets a spawn requested during a marker sweep go first, and the sweep still ends what carries its marker', async () => {
    const host = (await SpawnHost.start())!
    try {
      const marker = `sweep-${process.pid}-${Date.now()}`
      const marked = spawnGroup(
        { command: 'sh', args: ['-c', 'echo ready; exec sleep 60'], cwd, env, marker, killGraceMs: 1000 },
        (s) => host.spawn(s),
      )
      for await (const line of readLines(marked.stdout)) if (line === 'ready') break
      const markedPid = marked.pid
      // what the host answers, in its order
      const order: string[] = []
      const channel = (host as unknown as { host: import('node:child_process').ChildProcess }).host
      const heard = (reply: object) => {
        if ('signalled' in reply) order.push('sweep')
        else if ('pid' in reply) order.push('spawn')
      }
      channel.on('message', heard)
      // the previous run's sweep, then the next run's spawn, sent at once (a run that ends as the next starts)
      const sweep = host.signalMarked({ [marker]: 'SIGTERM' })
      const next = spawnGroup({ command: 'echo', args: ['first line'], cwd, env, killGraceMs: 1000 }, (s) =>
        host.spawn(s),
      )
      expect(await textOf(next.stdout)).toBe('first line\n')
      expect(await sweep).toEqual([marker])
      channel.off('message', heard)
      expect(order).toEqual(['spawn', 'sweep'])
      expect((await marked.done).signal).toBe('SIGTERM')
      expect(alive(markedPid!)).toBe(false)
    } finally {
      await host.stop()
    }
  })

  it('hands over a child that exited before its sockets were accepted, with all it wrote', async () => {
    const host = (await SpawnHost.start())!
    try {
      const procs = Array.from({ length: 40 }, (_, i) =>
        spawnGroup({ command: 'echo', args: [`quick ${i}`], cwd, env, killGraceMs: 1000 }, (s) =>
          host.spawn(s),
        ),
      )
      const outputs = await Promise.all(procs.map((p) => textOf(p.stdout)))
      expect(outputs).toEqual(procs.map((_, i) => `quick ${i}\n`))
      const outcomes = await Promise.all(procs.map((p) => p.done))
      expect(outcomes.every((o) => o.exitCode === 0 && o.reason === 'exited')).toBe(true)
    } finally {
      await host.stop()
    }
  })

  it('removes the listener directory a killed gateway left, and no look-alike of another program, user or namespace', async () => {
    const tmp = path.join(cwd, 'tmp')
    mkdirSync(tmp)
    // a gateway with its temp dir here, which starts a host (and so makes its listener directory), then is killed
    const gateway = startScriptGateway(
      cwd,
      `import { SpawnHost } from ${moduleUrl('src/process/spawn-host.ts')}
const host = await SpawnHost.start()
console.log(host.socketPath)`,
      { TMPDIR: tmp },
    )
    let left: string
    try {
      left = path.dirname(await gateway.firstLine)
      expect(path.dirname(left)).toBe(tmp)
      // while it runs, its directory stays
      await sweepTempDirs(tmp)
      expect(existsSync(left)).toBe(true)
    } finally {
      await gateway.kill()
    }
    const lookAlikes = makeLookAlikes(tmp, spawnDirs, left, cwd)
    expect(lookAlikes.owner.pid).toBe(gateway.child.pid)
    await sweepTempDirs(tmp)
    expect(existsSync(left)).toBe(false)
    expectSwept(lookAlikes)
  })

  it('ends the children of a host that stops, and reports them; later spawns do not use it', async () => {
    const host = (await SpawnHost.start())!
    const proc = spawnGroup(
      { command: 'sh', args: ['-c', 'sleep 30 & sleep 30'], cwd, env, killGraceMs: 1000 },
      (s) => host.spawn(s),
    )
    let pid: number
    try {
      pid = (await proc.started)!
      expect(processesInGroup(pid).length).toBeGreaterThan(0)
    } finally {
      await host.stop()
    }
    expect(await proc.done).toMatchObject({ exitCode: null, signal: 'SIGKILL' })
    expect(await waitUntilGone(() => processesInGroup(pid))).toEqual([])
    expect(host.usable).toBe(false)
    const after = spawnGroup({ command: 'true', args: [], cwd, env, killGraceMs: 1000 }, (s) => host.spawn(s))
    expect(await after.done).toMatchObject({ reason: 'spawn_failed' })
  })
})
