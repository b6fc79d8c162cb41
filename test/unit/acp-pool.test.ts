import { describe, expect, it } from 'vitest'
import { AcpPool } from '../../src/agents/acp/acp-pool.js'
import type { AcpProcess } from '../../src/agents/acp/acp-process.js'
import type { AcpLaunch } from '../../src/agents/acp/launch.js'

/** A stand-in agent process: initializes at once, records how it was ended, offers session/close. */
function fakeAgent() {
  let finish: () => void = () => {}
  const agent = {
    ended: null as null | 'closed' | 'terminated',
    closedSessions: [] as string[],
    exited: false,
    done: new Promise<void>((resolve) => {
      finish = resolve
    }),
    initialize: async () => ({
      protocolVersion: 1,
      agentCapabilities: { sessionCapabilities: { close: {} } },
    }),
    connection: {
      agent: {
        request: async (_method: string, params: { sessionId: string }) => {
          agent.closedSessions.push(params.sessionId)
          return {}
        },
      },
    },
    close: async () => {
      agent.ended ??= 'closed'
      agent.exited = true
      finish()
    },
    terminate: async () => {
      agent.ended ??= 'terminated'
      agent.exited = true
      finish()
    },
  }
  return agent
}

const launch = (cwd: string): AcpLaunch => ({
  command: 'agent',
  args: [],
  env: {},
  cwd,
  killGraceMs: 0,
  toolSettleMs: 0,
})

function pool(perProcess: number, warmMs = 60_000) {
  const spawned: ReturnType<typeof fakeAgent>[] = []
  const p = new AcpPool(perProcess, warmMs)
  const spawn = () => {
    const a = fakeAgent()
    spawned.push(a)
    return a as unknown as AcpProcess
  }
  return { p, spawned, spawn }
}

describe('AcpPool', () => {
  it('shares a process among leases of the same launch up to the cap; it ends with its last lease', async () => {
    const { p, spawned, spawn } = pool(2)
    const a = await p.lease(launch('/w'), true, spawn)
    const b = await p.lease(launch('/w'), true, spawn)
    const c = await p.lease(launch('/w'), true, spawn)
    const other = await p.lease(launch('/elsewhere'), true, spawn)
    expect(a.agent).toBe(b.agent)
    expect(c.agent).not.toBe(a.agent)
    expect(other.agent).not.toBe(a.agent)
    expect(spawned).toHaveLength(3)
    await a.release('s1')
    expect(spawned[0]!.closedSessions).toEqual(['s1'])
    expect(spawned[0]!.ended).toBeNull()
    await b.release('s2')
    expect(spawned[0]!.ended).toBe('closed')
    expect(p.sharedProcesses).toBe(2)
  })

  it('a warm process stays after its last lease and serves the next; session/close gives its place back', async () => {
    const { p, spawned, spawn } = pool(1)
    for (let i = 0; i < 3; i++) {
      const lease = await p.lease(launch('/w'), true, spawn, true)
      await lease.release(`run${i}`)
    }
    expect(spawned).toHaveLength(1)
    expect(spawned[0]!.ended).toBeNull()
    await p.close()
    expect(spawned[0]!.ended).toBe('closed')
  })

  it('keeps at most two idle warm processes: runs in many workspaces do not each keep one', async () => {
    const { p, spawned, spawn } = pool(8)
    for (const cwd of ['/a', '/b', '/c', '/d']) {
      const lease = await p.lease(launch(cwd), true, spawn, true)
      await lease.release('s')
    }
    expect(spawned.map((a) => a.ended)).toEqual(['closed', 'closed', null, null])
    expect(p.sharedProcesses).toBe(2)
    await p.close()
    expect(spawned.every((a) => a.ended === 'closed')).toBe(true)
  })

  it('a lease released with `now` ends its process at once; an unshared lease never shares', async () => {
    const { p, spawned, spawn } = pool(8)
    const a = await p.lease(launch('/w'), false, spawn)
    const b = await p.lease(launch('/w'), false, spawn)
    expect(b.agent).not.toBe(a.agent)
    await a.release(null, { now: true })
    expect(spawned[0]!.ended).toBe('terminated')
    await b.release(null)
    expect(spawned[1]!.ended).toBe('closed')
  })

  it('a lease released with `retire` stops its process taking sessions; it ends with its last one, not kept warm', async () => {
    const { p, spawned, spawn } = pool(4)
    const stuck = await p.lease(launch('/w'), true, spawn, true)
    const other = await p.lease(launch('/w'), true, spawn, true)
    expect(other.agent).toBe(stuck.agent)
    await stuck.release('s1', { retire: true })
    // not asked to close the session it ignored; still serving the other one
    expect(spawned[0]!.closedSessions).toEqual([])
    expect(spawned[0]!.ended).toBeNull()
    expect(p.hasRoom(launch('/w'), true)).toBe(false)
    const next = await p.lease(launch('/w'), true, spawn, true)
    expect(next.agent).not.toBe(stuck.agent)
    await other.release('s2')
    expect(spawned[0]!.ended).toBe('closed')
    // the fresh process is kept warm as before
    await next.release('s3')
    expect(spawned[1]!.ended).toBeNull()
    await p.close()
    expect(spawned[1]!.ended).toBe('closed')
  })

  it('a retired process whose last lease it was ends at once', async () => {
    const { p, spawned, spawn } = pool(4)
    const only = await p.lease(launch('/w'), true, spawn, true)
    await only.release('s1', { retire: true })
    expect(spawned[0]!.ended).toBe('terminated')
    expect(p.sharedProcesses).toBe(0)
  })
})
