import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Session } from '../../src/protocol/sessions.js'
import { newApproval } from '../contract/store-contract.js'
import { postJson, startGateway, type TestGateway } from '../support/gateway.js'
import { processesInGroup, processesUnder, waitUntilGone } from '../support/processes.js'
import { parsePrometheus, sample } from '../support/prometheus.js'
import { sharedPostgres } from '../support/shared-postgres.js'
import { readSse } from '../support/sse-client.js'
import {
  gateways,
  hangingTurn,
  helloTurn,
  interruptedByForce,
  readSession,
  stubbornSettings,
} from '../support/stubborn-agent.js'
import { removeDir, tempDir } from '../support/temp.js'

/**
 * Archiving a session whose agent cannot start (its binary broke since): the archive needs the agent to archive
 * its own record (its thread), so it answered 500 and the session stayed `idle` for good. Now the gateway's
 * record is archived all the same: 200, its `agentArchiveError` and its event stream's last event (`archived`)
 * say the agent's error, a warning is logged with the session's id and counted on `GET /metrics`
 * (`agent_gateway_agent_archives_failed_total`, once: archiving again counts nothing), nothing is left running,
 * and no turn starts any more. A real gateway over real sockets, a real ACP agent process (test/fixtures/acp-stubborn-agent.mjs),
 * which cannot start while a file is there.
 */

/** The gateway's warnings, as JSON lines (the tests' gateways log nothing otherwise). */
const logWarnings = { LOG_LEVEL: 'warn', LOG_FORMAT: 'json' }

/** The session's events, replayed from its start to `archived` (the stream ends there). */
async function eventsOf(gw: TestGateway, id: string): Promise<StoredEvent[]> {
  const res = await fetch(`${gw.url}/v1/sessions/${id}/events`, {
    headers: { accept: 'text/event-stream', 'last-event-id': '0' },
  })
  return (await readSse(res)).map((f) => JSON.parse(f.data) as StoredEvent)
}

/** Archives the session; what the archive answered, its events, its log lines, once nothing runs any more. */
async function archiveOf(gw: TestGateway, id: string, logged: string[]) {
  const answer = await postJson(`${gw.url}/v1/sessions/${id}/archive`, {})
  const body = (await answer.json()) as Session
  expect(answer.status, JSON.stringify(body)).toBe(200)
  expect(await waitUntilGone(() => processesUnder(gw.dir))).toEqual([])
  const warnings = logged
    .map((line) => JSON.parse(line) as { level: number; sessionId?: string; err?: string })
    .filter((line) => line.level === 40 && line.sessionId === id)
  return { body, events: await eventsOf(gw, id), warnings }
}

/** The archives without the agent's own record counted on `GET /metrics` (read over the gateway's socket). */
async function failedArchivesCounted(gw: TestGateway): Promise<number> {
  const res = await fetch(`${gw.url}/metrics`)
  expect(res.status).toBe(200)
  return sample(parsePrometheus(await res.text()), 'agent_gateway_agent_archives_failed_total')
}

/** What every such archive leaves: archived saying why, on its stream too, logged, counted, no turn starts. */
async function expectArchivedWithoutAgent(gw: TestGateway, id: string, logged: string[]) {
  expect(await failedArchivesCounted(gw)).toBe(0)
  const { body, events, warnings } = await archiveOf(gw, id, logged)
  const why = expect.stringMatching(/cannot start/)
  expect(body).toMatchObject({ status: 'archived', agentArchiveError: why })
  expect(events.at(-1)).toMatchObject({ type: 'session.status', status: 'archived', agentArchiveError: why })
  expect(warnings).toMatchObject([
    { err: why, msg: expect.stringMatching(/could not archive its own record/) },
  ])
  expect(await readSession(gw.url, id)).toMatchObject({ status: 'archived', agentArchiveError: why })
  expect(await failedArchivesCounted(gw)).toBe(1)
  const later = await postJson(`${gw.url}/v1/sessions/${id}/turns`, { input: 'hello' })
  expect(later.status).toBe(409)
  expect(processesUnder(gw.dir)).toEqual([])
  // archived once: a second archive answers the same record
  const again = await postJson(`${gw.url}/v1/sessions/${id}/archive`, {})
  expect({ http: again.status, body: await again.json() }).toMatchObject({
    http: 200,
    body: { status: 'archived' },
  })
  expect(await failedArchivesCounted(gw)).toBe(1)
  return events
}

function unreachableCase(database: () => Promise<Record<string, string>>) {
  const held = gateways()
  const dirs: string[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) removeDir(d)
  })
  const brokenFile = () => path.join(dirs[dirs.push(tempDir('agent-broken-')) - 1]!, 'agent-broken')

  it('whose agent was let go (idle) and cannot start again: archived in the gateway, saying why', async () => {
    const broken = brokenFile()
    const logged: string[] = []
    const gw = await startGateway(
      null,
      { ...stubbornSettings(broken), SESSION_IDLE_SECONDS: '1', ...logWarnings, ...(await database()) },
      { logSink: { write: (line) => void logged.push(line) } },
    )
    held.gw = gw
    const created = await postJson(`${gw.url}/v1/sessions`, { agent: 'acp:stubborn' })
    const session = (await created.json()) as Session
    expect(created.status, JSON.stringify(session)).toBe(201)
    expect(await helloTurn(gw, session.id)).toMatchObject({ status: 'completed' })
    // an approval left pending with no turn (as codex asks one when no turn of the session runs): stored here as
    // the agent's request would store it, since this agent asks none
    const now = Date.now()
    await gw.ctx.store.createApproval(
      newApproval('apr_unreachable', session.id, {
        turnId: null,
        command: 'rm -rf build',
        cwd: null,
        options: ['accept', 'decline', 'cancel'],
        createdAt: new Date(now).toISOString(),
        expiresAt: new Date(now + 600_000).toISOString(),
      }),
    )
    writeFileSync(broken, '')
    // unloaded once idle: its agent process ends; the archive must start it again, and cannot
    expect(await waitUntilGone(() => processesUnder(gw.dir))).toEqual([])
    expect(gw.ctx.sessions.isBusy(session.id)).toBe(false)

    const events = await expectArchivedWithoutAgent(gw, session.id, logged)
    expect((await readSession(gw.url, session.id)).turns.map((t) => t.status)).toEqual(['completed'])
    // the pending approval was cancelled, before `archived`
    expect(await gw.ctx.store.getApproval('apr_unreachable')).toMatchObject({
      state: 'resolved',
      decision: 'cancel',
      by: 'session_archived',
    })
    expect(events.slice(-2)).toMatchObject([
      { type: 'approval.resolved', approvalId: 'apr_unreachable', by: 'session_archived' },
      { type: 'session.status', status: 'archived' },
    ])
  }, 60_000)
}

describe('archiving a session whose agent cannot start (SQLite)', () => {
  unreachableCase(async () => ({}))
})

describe('archiving a session whose agent cannot start (PostgreSQL: its writes fenced by a new claim)', () => {
  const pg = sharedPostgres()
  unreachableCase(async () => ({ DATABASE_URL: await pg.createStoreDatabase() }))
})

describe('archiving a session whose turn the gateway ended by force, its agent unable to start again', () => {
  const held = gateways()
  const dirs: string[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) removeDir(d)
  })

  it('archives the gateway record once the turn ended, saying why; nothing runs', async () => {
    const broken = path.join(dirs[dirs.push(tempDir('agent-broken-')) - 1]!, 'agent-broken')
    const logged: string[] = []
    const gw = await startGateway(
      null,
      { ...stubbornSettings(broken), ...logWarnings },
      {
        logSink: { write: (line) => void logged.push(line) },
      },
    )
    held.gw = gw
    const { session, agentPid } = await hangingTurn(gw)
    writeFileSync(broken, '')
    await interruptedByForce(gw, session.id)
    expect(await waitUntilGone(() => processesInGroup(agentPid))).toEqual([])

    await expectArchivedWithoutAgent(gw, session.id, logged)
    expect((await readSession(gw.url, session.id)).turns.map((t) => t.status)).toEqual(['interrupted'])
  }, 60_000)
})
