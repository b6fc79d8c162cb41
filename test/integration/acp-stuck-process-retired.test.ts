import { afterEach, describe, expect, it } from 'vitest'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import {
  finishedTurnAt,
  gatewayModules,
  postJson,
  startGateway,
  type TestGateway,
} from '../support/gateway.js'
import { processesInGroup, processesUnder, waitUntilGone } from '../support/processes.js'
import { helloTurn, stubbornSettings } from '../support/stubborn-agent.js'

/**
 * ACP sessions share agent processes (ACP_SESSIONS_PER_PROCESS). When one session's agent ignores its interrupt,
 * the gateway ends the turn by force and closes that session, but the process cannot be ended: other sessions
 * run on it. It used to go on taking new sessions, so a process known to ignore cancels could collect more work.
 * Now it is retired: it serves the sessions it has, takes no new one, and ends with the last of them. A real
 * gateway over real sockets and a real ACP agent process (test/fixtures/acp-stubborn-agent.mjs, which ignores
 * `session/cancel` and SIGTERM and names its sessions `stubborn-<pid>-<n>`).
 */
const settings = { ...stubbornSettings(), ACP_SESSIONS_PER_PROCESS: '4' }

/** The pid of the agent process a session runs on, from its agent session id. */
function agentPidOf(session: Session): number {
  const pid = /^stubborn-(\d+)-\d+$/.exec(session.agentSessionId)?.[1]
  expect(pid, session.agentSessionId).toBeDefined()
  return Number(pid)
}

async function createSession(gw: TestGateway): Promise<Session> {
  const created = await postJson(`${gw.url}/v1/sessions`, { agent: 'acp:stubborn' })
  const session = (await created.json()) as Session
  expect(created.status, JSON.stringify(session)).toBe(201)
  return session
}

describe('an ACP process whose agent ignored a session’s interrupt', () => {
  gatewayModules()
  let gw: TestGateway | undefined
  afterEach(async () => {
    const dir = gw?.dir
    await gw?.close(0)
    gw = undefined
    if (dir) expect(await waitUntilGone(() => processesUnder(dir))).toEqual([])
  })

  it('takes no new session, serves the ones it has, and ends with the last of them', async () => {
    gw = await startGateway(null, settings)
    const stuck = await createSession(gw)
    const neighbour = await createSession(gw)
    const pid = agentPidOf(stuck)
    expect(agentPidOf(neighbour)).toBe(pid)

    const started = await postJson(`${gw.url}/v1/sessions/${stuck.id}/turns`, { input: 'hang' })
    const hanging = (await started.json()) as Turn
    expect(started.status, JSON.stringify(hanging)).toBe(202)
    // answered once the gateway ended the turn by force (KILL_GRACE_MS + FORCE_END_AFTER_MS after the interrupt)
    const interrupted = await postJson(`${gw.url}/v1/sessions/${stuck.id}/interrupt`, {})
    expect(interrupted.status).toBe(200)
    expect(await finishedTurnAt(gw.url, stuck.id, hanging.id)).toMatchObject({ status: 'interrupted' })

    // the stuck session's next turn reopens it (session/load) once its agent session was closed, on another
    // process; the retired one still serves its neighbour
    expect(await helloTurn(gw, stuck.id)).toMatchObject({ status: 'completed', finalResponse: 'done' })
    expect(processesInGroup(pid).length).toBeGreaterThan(0)
    expect(await helloTurn(gw, neighbour.id)).toMatchObject({ status: 'completed', finalResponse: 'done' })

    // a new session goes to another process
    const newcomer = await createSession(gw)
    expect(agentPidOf(newcomer)).not.toBe(pid)

    // the retired process ends with its last session (the stuck one's `sleep` in its group with it)
    const archived = await postJson(`${gw.url}/v1/sessions/${neighbour.id}/archive`, {})
    expect(archived.status).toBe(200)
    expect(await waitUntilGone(() => processesInGroup(pid))).toEqual([])
    expect(processesInGroup(agentPidOf(newcomer)).length).toBeGreaterThan(0)
  }, 60_000)
})
