import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { afterEach, expect, it } from 'vitest'
import { hostLeftovers } from '../../src/process/host-leftovers.js'
import { procStat } from '../../src/process/proc-stat.js'
import { serverMarker, serverMarkerVariable } from '../../src/process/server-marker.js'

const started: ChildProcess[] = []
afterEach(async () => {
  for (const child of started.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue
    child.kill('SIGKILL')
    await once(child, 'exit')
  }
})

/** A `sleep` with `env`, leading a process group of its own or not; its pid once it runs. */
async function sleeper(env: Record<string, string>, detached: boolean): Promise<number> {
  const child = spawn('sleep', ['60'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    detached,
    stdio: 'ignore',
  })
  started.push(child)
  await once(child, 'spawn')
  return child.pid!
}

it('finds the host’s children by marker, and a fork of the host that has not exec’d yet by the host’s own environment', async () => {
  const hostEntry = 'AGENT_GATEWAY_SPAWN_SOCKET=/tmp/agent-gateway-spawn-1-test/s'
  const since = procStat(process.pid)!.startTime
  const child = await sleeper({ [serverMarkerVariable]: serverMarker() }, true)
  // a fork of the host before its exec: still the host's environment, still in the host's process group
  const fork = await sleeper({ AGENT_GATEWAY_SPAWN_SOCKET: '/tmp/agent-gateway-spawn-1-test/s' }, false)
  const otherHost = await sleeper({ AGENT_GATEWAY_SPAWN_SOCKET: '/tmp/agent-gateway-spawn-2-test/s' }, false)
  const notLeader = await sleeper({ [serverMarkerVariable]: serverMarker() }, false)
  const found = hostLeftovers(since, hostEntry)
  expect(found.find((l) => l.pid === child)).toMatchObject({ group: true })
  expect(found.find((l) => l.pid === fork)).toMatchObject({ group: false })
  expect(found.map((l) => l.pid)).not.toContain(otherHost)
  expect(found.map((l) => l.pid)).not.toContain(notLeader)
  expect(found.map((l) => l.pid)).not.toContain(process.pid)
})
