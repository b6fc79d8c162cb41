import { readdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CodexDriver } from '../../src/agents/codex/driver.js'
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

// SESSION_IDLE_SECONDS: a session with no turn for that long is unloaded from its agent and resumed,
// transparently, by its next turn. Real codex app-server and codex-acp against the mock model.

gatewayModules()

describe('idle sessions are unloaded and resumed without losing anything', () => {
  let mock: MockLlm
  let gw: TestGateway
  beforeAll(async () => {
    mock = await startMockLlm()
    gw = await startGateway(mock, { SESSION_IDLE_SECONDS: '1' })
  })
  afterAll(async () => {
    await gw?.close()
    await mock?.close()
  })

  const json = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T
  const turn = (id: string, input: string) =>
    json<Turn>(postJson(`${gw.url}/v1/sessions/${id}/turns?wait=true`, { input }))
  const lastUserText = () => JSON.stringify(mock.requests.at(-1)?.body ?? null)
  const codex = () => gw.ctx.registry.get('codex') as CodexDriver
  /**
   * Processes working in the workspace or the data dir (where shared ACP agent processes run), except the
   * shared codex app-server (one per gateway, not per session).
   */
  const sessionProcesses = () =>
    [...processesUnder(gw.workspace), ...processesUnder(gw.env.DATA_DIR!)].filter(
      (p) => p.pid !== codex().appServerPid,
    )

  for (const agent of ['codex', 'acp:codex-acp'])
    it(`${agent}: unloaded when idle (no thread, no process kept), the next turn resumes it with its history`, async () => {
      mock.reset()
      const session = await json<Session>(
        postJson(`${gw.url}/v1/sessions`, { agent, sandbox: 'workspace-write' }),
      )
      expect(session.status).toBe('idle')
      mock.script(
        { kind: 'exec_command', cmd: 'echo first > first.txt', yieldTimeMs: 10_000 },
        { kind: 'text', text: 'remembered the word pelican' },
        { kind: 'text', text: 'the word was pelican' },
      )
      const first = await turn(session.id, 'remember the word pelican')
      expect(first).toMatchObject({ status: 'completed', finalResponse: 'remembered the word pelican' })
      // The thread that holds the first turn. (Not always the one of the session's creation: on a loaded machine
      // the session may go idle before its first turn, and a thread with no turn yet cannot be resumed: that turn
      // starts a new one, live-sessions.ts resumeOrStart.)
      const { agentSessionId } = await json<Session>(fetch(`${gw.url}/v1/sessions/${session.id}`))

      // Idle for SESSION_IDLE_SECONDS: the gateway lets go of it...
      await waitFor(() => !gw.ctx.tenancy.scope(null).sessions.isLoaded(session.id))
      // ...and so does the agent: codex unloaded the thread; no agent or command process of it is left.
      if (agent === 'codex') {
        const loaded = async () => ((await codex().call('thread/loaded/list', {})) as { data: string[] }).data
        let threads = await loaded()
        // (30 s: what a loaded machine may take; it ends as soon as codex let go of the thread)
        for (let i = 0; i < 300 && threads.includes(agentSessionId); i++) {
          await new Promise((r) => setTimeout(r, 100))
          threads = await loaded()
        }
        expect(threads).not.toContain(agentSessionId)
      }
      expect(await waitUntilGone(sessionProcesses)).toEqual([])
      expect((await json<Session>(fetch(`${gw.url}/v1/sessions/${session.id}`))).status).toBe('idle')

      // The next turn resumes it: the model gets the whole history, the session goes on where it was.
      const second = await turn(session.id, 'which word did I ask you to remember?')
      expect(second).toMatchObject({ status: 'completed', finalResponse: 'the word was pelican' })
      expect(lastUserText()).toContain('remember the word pelican')
      expect(lastUserText()).toContain('remembered the word pelican')
      expect(gw.ctx.tenancy.scope(null).sessions.isLoaded(session.id)).toBe(true)

      const full = await json<Session & { turns: Turn[] }>(fetch(`${gw.url}/v1/sessions/${session.id}`))
      expect(full).toMatchObject({ turnCount: 2, agentSessionId })
      expect(full.turns.map((t) => [t.status, t.finalResponse])).toEqual([
        ['completed', 'remembered the word pelican'],
        ['completed', 'the word was pelican'],
      ])
      // One event stream across the unload: every seq once, both turns' events, in order.
      const events = await sessionEventsUntilTurnEnd(gw.url, session.id, second.id)
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
      const ends = events
        .filter((e) => e.type === 'turn.completed')
        .map((e) => (e as { turnId?: string }).turnId)
      expect(ends).toEqual([first.id, second.id])
      // the first turn's command is in its part of the stream
      const firstEnd = events.findIndex((e) => e.type === 'turn.completed')
      expect(
        events
          .slice(0, firstEnd)
          .some((e) => e.type === 'item.completed' && e.item.type === 'command_execution'),
      ).toBe(true)
    }, 90_000)

  // codex-acp answers the session/load of a thread it no longer has with an error: the session goes on in a new
  // one, saying so first (before: every turn failed with the load's error, the session unusable for good).
  it('acp:codex-acp: unloaded when idle, its thread gone from the codex home: the next turn goes on in a new session, saying so first (context_lost)', async () => {
    mock.reset()
    const session = await json<Session>(postJson(`${gw.url}/v1/sessions`, { agent: 'acp:codex-acp' }))
    mock.script({ kind: 'text', text: 'noted quince' }, { kind: 'text', text: 'which fruit?' })
    expect(await turn(session.id, 'the fruit is quince')).toMatchObject({ status: 'completed' })
    const { agentSessionId } = await json<Session>(fetch(`${gw.url}/v1/sessions/${session.id}`))
    await waitFor(() => !gw.ctx.tenancy.scope(null).sessions.isLoaded(session.id))
    expect(await waitUntilGone(sessionProcesses)).toEqual([])
    const sessions = path.join(gw.env.CODEX_HOME!, 'sessions')
    const rollouts = readdirSync(sessions, { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith(`${agentSessionId}.jsonl`),
    )
    expect(rollouts).toHaveLength(1)
    for (const f of rollouts) rmSync(path.join(sessions, f))

    const next = await turn(session.id, 'name the fruit')
    expect(next).toMatchObject({ status: 'completed', finalResponse: 'which fruit?' })
    expect(lastUserText()).not.toContain('quince')
    const events = await sessionEventsUntilTurnEnd(gw.url, session.id, next.id)
    const own = events.slice(events.findIndex((e) => e.type === 'turn.started' && e.turnId === next.id))
    expect(own[1]).toMatchObject({
      type: 'item.completed',
      item: {
        id: 'context_lost',
        type: 'error',
        message: expect.stringMatching(/^context lost: acp:codex-acp/),
      },
    })
    // the new agent session is the session's now
    const stored = await json<Session>(fetch(`${gw.url}/v1/sessions/${session.id}`))
    expect(stored).toMatchObject({ turnCount: 2 })
    expect(stored.agentSessionId).not.toBe(agentSessionId)
  }, 90_000)
})
