import { existsSync, mkdirSync, statSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readText } from '../../src/process/lines.js'
import { spawnWorkerReady } from '../../src/process/spawn-child.js'
import { spawnGroup } from '../../src/process/spawn-group.js'
import { SpawnWorker, sweepStaleDirs } from '../../src/process/spawn-worker.js'
import { listProcesses, processesInGroup, waitUntilGone } from '../support/processes.js'
import { removeDir, tempDir } from '../support/temp.js'

let cwd: string
beforeEach(() => {
  cwd = tempDir('spawn-worker-')
})
afterEach(() => removeDir(cwd))

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' }

async function textOf(stream: NodeJS.ReadableStream & import('node:stream').Readable): Promise<string> {
  let text = ''
  for await (const t of readText(stream)) text += t
  return text
}

describe('the spawn worker', () => {
  it('is what spawnGroup uses once it runs: the child is still this process’s own, its stdio sockets', async () => {
    expect(await spawnWorkerReady()).toBe(true)
    const proc = spawnGroup({
      command: 'sh',
      args: ['-c', 'cat; readlink /proc/$$/fd/0 /proc/$$/fd/1; sleep 0.2'],
      cwd,
      env,
      killGraceMs: 1000,
      stdin: 'through the socket\n',
    })
    const output = textOf(proc.stdout)
    const pid = await proc.started
    expect(listProcesses().find((p) => p.pid === pid)?.ppid).toBe(process.pid)
    expect(await proc.done).toMatchObject({ exitCode: 0, reason: 'exited' })
    const [echoed, stdin, stdout] = (await output).trim().split('\n')
    expect(echoed).toBe('through the socket')
    expect(stdin).toMatch(/^socket:/)
    expect(stdout).toMatch(/^socket:/)
  })

  it('listens where only this user may connect, and drops a connection that does not name a spawn', async () => {
    const worker = await SpawnWorker.start()
    try {
      expect(worker).toBeDefined()
      const socketPath = worker!.socketPath
      expect(statSync(path.dirname(socketPath)).mode & 0o777).toBe(0o700)
      expect(statSync(socketPath).mode & 0o777).toBe(0o600)
      const stranger = net.connect(socketPath)
      stranger.on('error', () => {})
      stranger.write(`${'0'.repeat(32)}1`)
      await new Promise((resolve) => stranger.once('close', resolve))
      // and it still spawns
      const proc = spawnGroup({ command: 'true', args: [], cwd, env, killGraceMs: 1000 }, (s) =>
        worker!.spawn(s),
      )
      expect(await proc.done).toMatchObject({ exitCode: 0, reason: 'exited' })
    } finally {
      await worker?.stop()
    }
  })

  it('hands over a child that exited before its sockets were accepted, with all it wrote', async () => {
    const worker = (await SpawnWorker.start())!
    try {
      const procs = Array.from({ length: 40 }, (_, i) =>
        spawnGroup({ command: 'echo', args: [`quick ${i}`], cwd, env, killGraceMs: 1000 }, (s) =>
          worker.spawn(s),
        ),
      )
      const outputs = await Promise.all(procs.map((p) => textOf(p.stdout)))
      expect(outputs).toEqual(procs.map((_, i) => `quick ${i}\n`))
      const outcomes = await Promise.all(procs.map((p) => p.done))
      expect(outcomes.every((o) => o.exitCode === 0 && o.reason === 'exited')).toBe(true)
    } finally {
      await worker.stop()
    }
  })

  it('removes the listener directories of processes that are gone, and only those', async () => {
    const gone = path.join(cwd, 'agent-gateway-spawn-2147483646-AbC123')
    const alive = path.join(cwd, `agent-gateway-spawn-${process.ppid}-XyZ789`)
    const other = path.join(cwd, 'agent-gateway-spawn-notapid')
    for (const dir of [gone, alive, other]) mkdirSync(dir)
    await sweepStaleDirs(cwd)
    expect([gone, alive, other].map((dir) => existsSync(dir))).toEqual([false, true, true])
  })

  it('ends the children of a worker that stops, and reports them; later spawns do not use it', async () => {
    const worker = (await SpawnWorker.start())!
    const proc = spawnGroup(
      { command: 'sh', args: ['-c', 'sleep 30 & sleep 30'], cwd, env, killGraceMs: 1000 },
      (s) => worker.spawn(s),
    )
    let pid: number
    try {
      pid = (await proc.started)!
      expect(processesInGroup(pid).length).toBeGreaterThan(0)
    } finally {
      await worker.stop()
    }
    expect(await proc.done).toMatchObject({ exitCode: null, signal: 'SIGKILL' })
    expect(await waitUntilGone(() => processesInGroup(pid), 3000)).toEqual([])
    expect(worker.usable).toBe(false)
    const after = spawnGroup({ command: 'true', args: [], cwd, env, killGraceMs: 1000 }, (s) =>
      worker.spawn(s),
    )
    expect(await after.done).toMatchObject({ reason: 'spawn_failed' })
  })
})
