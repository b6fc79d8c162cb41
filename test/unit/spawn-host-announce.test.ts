import { once } from 'node:events'
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnGroup } from '../../src/process/spawn-group.js'
import { announceLimits, SpawnHost } from '../../src/process/spawn-host.js'
import { removeDir, tempDir } from '../support/temp.js'

let host: SpawnHost
let cwd: string
beforeAll(async () => {
  host = (await SpawnHost.start())!
  cwd = tempDir('spawn-host-announce-')
})
afterAll(async () => {
  await host?.stop()
  removeDir(cwd)
})

/** A connection to the host's listener, as another process of the same user could open one. */
async function connectSilent(): Promise<net.Socket> {
  const socket = net.connect(host.socketPath)
  socket.on('error', () => {})
  await once(socket, 'connect')
  return socket
}

const closed = (socket: net.Socket) => (socket.closed ? Promise.resolve() : once(socket, 'close'))

async function spawnsStill(): Promise<void> {
  const proc = spawnGroup(
    { command: 'true', args: [], cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, killGraceMs: 1000 },
    (s) => host.spawn(s),
  )
  expect(await proc.done).toMatchObject({ exitCode: 0, reason: 'exited' })
}

describe('the spawn host’s listener and connections that do not announce themselves', () => {
  it('closes one that sent nothing, or part of its announce, once the announce timeout passed', async () => {
    const started = performance.now()
    const silent = await connectSilent()
    const partial = await connectSilent()
    partial.write('0123456789')
    await Promise.all([closed(silent), closed(partial)])
    const elapsed = performance.now() - started
    expect(elapsed).toBeGreaterThanOrEqual(announceLimits.timeoutMs - 50)
    expect(elapsed).toBeLessThan(announceLimits.timeoutMs + 3000)
    await spawnsStill()
  }, 20_000)

  it('holds at most maxPending waiting: one more closes the oldest at once, and spawns go on meanwhile', async () => {
    const sockets: net.Socket[] = []
    try {
      for (let i = 0; i < announceLimits.maxPending; i++) sockets.push(await connectSilent())
      const started = performance.now()
      sockets.push(await connectSilent())
      await closed(sockets[0]!)
      expect(performance.now() - started).toBeLessThan(announceLimits.timeoutMs / 2)
      expect(sockets.slice(1).some((s) => s.closed)).toBe(false)
      // the host's own sockets announce at once: a spawn works while others squat on the listener
      await spawnsStill()
    } finally {
      for (const s of sockets) s.destroy()
    }
  }, 20_000)
})
