import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { waitFor } from '../contract/driver-contract.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import {
  gatewayModules,
  postJson,
  sessionEventsUntilTurnEnd,
  startGateway,
  type TestGateway,
} from '../support/gateway.js'
import { processesUnder, waitUntilGone } from '../support/processes.js'
import { tempDir } from '../support/temp.js'

// gemini --acp loads a session (session/load) by replaying its history as session/update notifications, each on one
// line of its stdout: an earlier answer of 100 KB, or of 1.5 MB, comes back whole on one line (the gateway reads
// lines of up to 8 MiB, src/util/agent-line.ts). Until now only histories of a few words were loaded.

gatewayModules()

describe('acp:gemini: a session whose history is large, unloaded when idle and loaded again', () => {
  let mock: MockLlm
  let gw: TestGateway
  beforeAll(async () => {
    mock = await startMockLlm()
    gw = await startGateway(mock, {
      SESSION_IDLE_SECONDS: '1',
      GEMINI_API_KEY: 'gemini-test-key',
      GOOGLE_GEMINI_BASE_URL: mock.url,
      GEMINI_MODEL: 'gemini-2.5-flash',
      GEMINI_CLI_HOME: tempDir('gemini-home-'),
    })
  })
  afterAll(async () => {
    await gw?.close()
    await mock?.close()
  })

  const json = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T
  const turn = (id: string, input: string) =>
    json<Turn>(postJson(`${gw.url}/v1/sessions/${id}/turns?wait=true`, { input }))
  /** An answer of about `bytes` characters, each line numbered: a cut, a duplicate or a reordering shows. */
  const longAnswer = (tag: string, bytes: number) =>
    Array.from({ length: Math.ceil(bytes / 64) }, (_, i) =>
      `${tag} line ${String(i).padStart(6, '0')} `.padEnd(63, '.'),
    ).join('\n')

  it('histories of 100 KB and 1.5 MB: the replay is not taken for the next turn, which gets the whole history and answers its own; nothing cut or twice in the events', async () => {
    const sizes = { small: 100 * 1024, large: 1536 * 1024 }
    const cases = Object.entries(sizes).map(([tag, bytes]) => ({
      tag,
      prompts: [`write the ${tag} essay`, `how long was the ${tag} essay?`] as const,
      answers: [longAnswer(tag, bytes), `the ${tag} essay was long`] as const,
    }))
    for (const c of cases)
      for (const i of [0, 1]) mock.on(c.prompts[i]!, { kind: 'text', text: c.answers[i]! })
    const sessions = await Promise.all(
      cases.map(() => json<Session>(postJson(`${gw.url}/v1/sessions`, { agent: 'acp:gemini' }))),
    )
    const firsts = await Promise.all(cases.map((c, i) => turn(sessions[i]!.id, c.prompts[0])))
    for (const [i, t] of firsts.entries())
      expect({ status: t.status, same: t.finalResponse === cases[i]!.answers[0] }).toEqual({
        status: 'completed',
        same: true,
      })
    const agentIds = await Promise.all(
      sessions.map(async (s) => (await json<Session>(fetch(`${gw.url}/v1/sessions/${s.id}`))).agentSessionId),
    )
    // idle: unloaded, their gemini process gone
    const loaded = gw.ctx.tenancy.scope(null).sessions
    await waitFor(() => sessions.every((s) => !loaded.isLoaded(s.id)), 30_000)
    expect(
      await waitUntilGone(() => [...processesUnder(gw.workspace), ...processesUnder(gw.env.DATA_DIR!)]),
    ).toEqual([])

    // the next turns load them (session/load on a new process): the replay of the long answer is history, not theirs
    const seconds = await Promise.all(cases.map((c, i) => turn(sessions[i]!.id, c.prompts[1])))
    for (const [i, c] of cases.entries()) {
      expect(seconds[i]).toMatchObject({ status: 'completed', finalResponse: c.answers[1] })
      // the model got the earlier answer whole with the new prompt
      const sent = mock.requests.filter((r) => mock.lastUserText(r).includes(c.prompts[1])).at(-1)
      expect(sent, c.tag).toBeDefined()
      expect(JSON.stringify(sent!.body).includes(JSON.stringify(c.answers[0]).slice(1, -1)), c.tag).toBe(true)
      const stored = await json<Session>(fetch(`${gw.url}/v1/sessions/${sessions[i]!.id}`))
      expect(stored).toMatchObject({ turnCount: 2, agentSessionId: agentIds[i] })
      // one stream across the load: every seq once; the long answer once (the first turn's), the second turn only
      // its own answer
      const events = await sessionEventsUntilTurnEnd(gw.url, sessions[i]!.id, seconds[i]!.id)
      expect(events.map((e) => e.seq)).toEqual(events.map((_, j) => j + 1))
      const messages = events.flatMap((e) =>
        e.type === 'item.completed' && e.item.type === 'agent_message' ? [e.item.text] : [],
      )
      expect(messages.length, c.tag).toBe(2)
      expect(messages[0] === c.answers[0], `${c.tag}: the long answer stored whole, once`).toBe(true)
      expect(messages[1]).toBe(c.answers[1])
      const secondStart = events.findIndex((e) => e.type === 'turn.started' && e.turnId === seconds[i]!.id)
      const replayed = events
        .slice(secondStart)
        .filter((e) => e.type === 'item.delta' && e.delta.includes(`${c.tag} line 000000`))
      expect(replayed, `${c.tag}: no delta of the replayed answer in the second turn`).toEqual([])
    }
  }, 240_000)
})
