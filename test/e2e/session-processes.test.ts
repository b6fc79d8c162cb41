import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Session } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayEnv, postJson } from '../support/gateway.js'
import { killAll, listProcesses, processesUnder, waitUntilGone } from '../support/processes.js'
import { spawnHostOf as hostOf, type ServerProcess, startServerProcess } from '../support/server-process.js'

const sessionCount = 20

function assertStarted(s: Awaited<ReturnType<typeof startServerProcess>>): ServerProcess {
  if (!('url' in s)) throw new Error(`server exited (${s.exitCode}):\n${s.output.join('\n')}`)
  return s
}

function spawnHostOf(server: ServerProcess): number {
  const host = hostOf(server)
  expect(host).toBeDefined()
  return host!
}

/** A process's state letter (/proc/<pid>/stat), 'gone' once it is. */
function stateOf(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!
  } catch {
    return 'gone'
  }
}

/** Bytes waiting unread on a process's fd 3 (the spawn host's IPC channel), as `ss` shows its receive queue. */
function unreadOnIpc(pid: number): number {
  const line = execFileSync('ss', ['-xpn'], { encoding: 'utf8' })
    .split('\n')
    .find((l) => l.includes(`pid=${pid},fd=3)`))
  return Number(line?.trim().split(/\s+/)[2] ?? 0)
}

const alive = (server: ServerProcess) => server.child.exitCode === null && server.child.signalCode === null

/**
 * Opens idle acp:codex-acp sessions and returns the agent processes: they share processes
 * (ACP_SESSIONS_PER_PROCESS, default 8), each leading its own process group, run in the data dir.
 */
async function openSessions(url: string, data: string) {
  const created = await Promise.all(
    Array.from({ length: sessionCount }, async () => {
      const res = await postJson(`${url}/v1/sessions`, { agent: 'acp:codex-acp' })
      expect(res.status).toBe(201)
      return (await res.json()) as Session
    }),
  )
  expect(created.every((s) => s.status === 'idle')).toBe(true)
  const agents = processesUnder(data)
  expect(new Set(agents.map((p) => p.pgid)).size).toBe(Math.ceil(sessionCount / 8))
  return agents
}

/** Session agents end with the server: on SIGTERM within the grace, and after a crash at the next start. */
describe('session agent processes across shutdown and crash (real processes)', () => {
  let mock: MockLlm
  const servers: ServerProcess[] = []
  const dirs: string[] = []

  beforeAll(async () => {
    mock = await startMockLlm()
  })
  afterEach(async () => {
    for (const server of servers.splice(0)) if (alive(server)) await server.stop('SIGTERM')
    for (const dir of dirs.splice(0)) killAll(await waitUntilGone(() => processesUnder(dir), 5000))
  })
  afterAll(async () => {
    await mock.close()
  })

  it(`SIGTERM with ${sessionCount} idle acp:codex-acp sessions ends every agent within the grace`, async () => {
    // long enough that a loaded machine's stop of the server and its agents (seconds) stays well within it
    const grace = 20
    const { env, dir } = gatewayEnv(mock, { SHUTDOWN_GRACE_SECONDS: String(grace) })
    const data = path.join(dir, 'data')
    dirs.push(data)
    const server = assertStarted(await startServerProcess(env, dir))
    servers.push(server)
    await openSessions(server.url, data)
    const host = spawnHostOf(server)

    const started = Date.now()
    expect(await server.stop('SIGTERM')).toBe(0)
    const took = Date.now() - started
    // the grace is for work in flight; idle sessions are ended together, within it
    expect(took).toBeLessThan(grace * 1000)
    expect(await waitUntilGone(() => processesUnder(data))).toEqual([])
    // and its spawn host, which ignored the SIGTERM, ended with the server's IPC channel
    expect(await waitUntilGone(() => listProcesses().filter((p) => p.pid === host))).toEqual([])
  }, 120_000)

  /** A server with the sessions' agents running, and its spawn host. */
  async function serverWithSessions() {
    const { env, dir } = gatewayEnv(mock)
    const data = path.join(dir, 'data')
    dirs.push(data)
    const first = assertStarted(await startServerProcess(env, dir))
    servers.push(first)
    const agents = await openSessions(first.url, data)
    expect(agents.length).toBeGreaterThan(0)
    return { env, dir, data, first, agents, host: spawnHostOf(first) }
  }

  it('a session opened while the spawn host is killed opens anyway: its spawn is made again once the host is gone', async () => {
    const { env, dir } = gatewayEnv(mock, { ACP_SESSIONS_PER_PROCESS: '1' })
    const data = path.join(dir, 'data')
    dirs.push(data)
    const server = assertStarted(await startServerProcess(env, dir))
    servers.push(server)
    const first = await postJson(`${server.url}/v1/sessions`, { agent: 'acp:codex-acp' })
    expect(first.status).toBe(201)
    const host = spawnHostOf(server)
    process.kill(host, 'SIGSTOP')
    await expect.poll(() => stateOf(host)).toBe('T')
    const opening = postJson(`${server.url}/v1/sessions`, { agent: 'acp:codex-acp' })
    // the agent's spawn request waits, unread, on the stopped host's channel when the host is killed
    await expect.poll(() => unreadOnIpc(host), { timeout: 30_000 }).toBeGreaterThan(0)
    process.kill(host, 'SIGKILL')
    const res = await opening
    expect(res.status).toBe(201)
    expect(((await res.json()) as Session).status).toBe('idle')
    // its agent is the server's own child now (the host died young: no replacement)
    const agents = listProcesses().filter((p) => p.ppid === server.child.pid && p.cmd.includes('codex-acp'))
    expect(agents).toHaveLength(1)
  }, 120_000)

  it('after kill -9 of the server, its spawn host ends the session agents at once', async () => {
    const { data, first, host } = await serverWithSessions()

    first.child.kill('SIGKILL')
    expect(await first.stop()).toBeNull()
    // the host saw its channel close: it killed every agent's group, then itself
    expect(await waitUntilGone(() => processesUnder(data), 5000)).toEqual([])
    expect(await waitUntilGone(() => listProcesses().filter((p) => p.pid === host), 5000)).toEqual([])
  }, 120_000)

  it('after kill -9 of the server and its spawn host, the next server ends the session agents they left', async () => {
    const { env, dir, data, first, agents, host } = await serverWithSessions()

    // the host first, as a crash of the whole process tree would (an out-of-memory kill of its cgroup)
    process.kill(host, 'SIGKILL')
    first.child.kill('SIGKILL')
    expect(await first.stop()).toBeNull()
    // nothing ended them: each leads its own process group, and the server died without a word
    const pids = new Set(agents.map((p) => p.pid))
    expect(processesUnder(data).filter((p) => pids.has(p.pid)).length).toBeGreaterThan(0)

    const second = assertStarted(await startServerProcess(env, dir))
    servers.push(second)
    expect(await waitUntilGone(() => processesUnder(data), 5000)).toEqual([])
    // the sessions themselves are kept: the next turn reopens them
    const list = (await (await fetch(`${second.url}/v1/sessions?limit=100`)).json()) as {
      sessions: Session[]
    }
    expect(list.sessions).toHaveLength(sessionCount)
  }, 120_000)
})
