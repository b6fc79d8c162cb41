import { rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { finishedTurnAt, postJson, startGateway } from '../support/gateway.js'
import { processesInGroup, processesUnder, waitUntilGone } from '../support/processes.js'
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
 * What follows a session turn the gateway ended by force (its agent ignored the interrupt; the driver closed the
 * agent session, the next use reopens it): the session archived then (its agent reopened to archive it, and let
 * go), and a reopen that fails (the agent cannot start any more): the turns that needed it fail saying why, nothing
 * is left running, and the session works again once its agent starts. A real gateway over real sockets, a real
 * ACP agent process (test/fixtures/acp-stubborn-agent.mjs).
 */

describe('a session whose turn the gateway ended by force', () => {
  const held = gateways()
  const dirs: string[] = []
  const brokenDir = () => dirs[dirs.push(tempDir('agent-broken-')) - 1]!
  afterEach(() => {
    for (const d of dirs.splice(0)) removeDir(d)
  })

  it('is archived after it (its agent reopened and let go); a later turn is refused and starts nothing', async () => {
    const gw = await startGateway(null, stubbornSettings())
    held.gw = gw
    const { session, agentPid } = await hangingTurn(gw)
    await interruptedByForce(gw, session.id)
    expect(await waitUntilGone(() => processesInGroup(agentPid))).toEqual([])

    const archived = await postJson(`${gw.url}/v1/sessions/${session.id}/archive`, {})
    const body = (await archived.json()) as Session
    expect({ http: archived.status, status: body.status }).toEqual({ http: 200, status: 'archived' })
    // the agent reopened for the archive is let go with it
    expect(await waitUntilGone(() => processesUnder(gw.dir))).toEqual([])

    const later = await postJson(`${gw.url}/v1/sessions/${session.id}/turns`, { input: 'hello' })
    expect(later.status).toBe(409)
    expect(JSON.stringify(await later.json())).toMatch(/archived/)
    expect(processesUnder(gw.dir)).toEqual([])
    const read = await readSession(gw.url, session.id)
    expect(read.status).toBe('archived')
    expect(read.turns.map((t) => t.status)).toEqual(['interrupted'])
  }, 60_000)

  it('whose agent cannot start again: the turns that need it fail saying why, nothing runs, then it works again', async () => {
    const broken = path.join(brokenDir(), 'agent-broken')
    const gw = await startGateway(null, stubbornSettings(broken))
    held.gw = gw
    const { session, agentPid } = await hangingTurn(gw)
    // a turn queued behind the stuck one, then the agent breaks: the session cannot be reopened for it
    const behind = await postJson(`${gw.url}/v1/sessions/${session.id}/turns`, { input: 'queued' })
    const queued = (await behind.json()) as Turn
    expect(behind.status).toBe(202)
    writeFileSync(broken, '')
    await interruptedByForce(gw, session.id)
    expect(await waitUntilGone(() => processesInGroup(agentPid))).toEqual([])
    const failed = await finishedTurnAt(gw.url, session.id, queued.id)
    expect(failed).toMatchObject({ status: 'failed' })
    expect(failed.error).toMatch(/could not be reopened.*cannot start/s)

    // the next turn: the reopen fails again, said to its client; no turn is left queued or running
    const next = await postJson(`${gw.url}/v1/sessions/${session.id}/turns`, { input: 'hello' })
    const answer = JSON.stringify(await next.json())
    expect(next.status, answer).toBeGreaterThanOrEqual(500)
    expect(answer).toMatch(/cannot start/)
    expect(await waitUntilGone(() => processesUnder(gw.dir))).toEqual([])
    const read = await readSession(gw.url, session.id)
    expect(read.status).toBe('idle')
    expect(read.turns.map((t) => t.status)).toEqual(['interrupted', 'failed'])

    // the agent starts again: so does the session
    rmSync(broken)
    expect(await helloTurn(gw, session.id)).toMatchObject({ status: 'completed', finalResponse: 'done' })
  }, 90_000)
})
