import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { GeminiDriver } from '../../src/agents/gemini/driver.js'
import { defaultGeminiSettings } from '../../src/agents/gemini/home.js'
import type { AgentSession, SessionHooks, TurnInput } from '../../src/agents/session.js'
import { loadConfig } from '../../src/config/load.js'
import { type AgentEvent, agentEvent } from '../../src/protocol/events.js'
import { collect, completionOf, describeDriverContract, waitFor } from '../contract/driver-contract.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayEnv } from '../support/gateway.js'
import { processesUnder, waitUntilGone } from '../support/processes.js'
import { tempDir } from '../support/temp.js'

// The gemini driver on the real pinned Gemini CLI against the mock model (Gemini API over SSE).

const geminiKey = 'gemini-test-key-0123456789'
const geminiModel = 'gemini-2.5-flash'

/** A Gemini home with the gateway's defaults plus no retries (an http_error step must fail the run). */
function makeGeminiHome(): string {
  const home = tempDir('gemini-home-')
  mkdirSync(path.join(home, '.gemini'))
  const settings = {
    ...defaultGeminiSettings,
    general: { ...defaultGeminiSettings.general, maxAttempts: 1 },
  }
  writeFileSync(path.join(home, '.gemini', 'settings.json'), JSON.stringify(settings))
  return home
}

function geminiDriver(mock: MockLlm | null, overrides: Record<string, string | undefined> = {}) {
  const { env, dir, workspace } = gatewayEnv(mock, {
    GEMINI_CLI_HOME: makeGeminiHome(),
    GEMINI_MODEL: geminiModel,
    // Gemini CLI writes an error report to the temp dir on every API error: keep them in the test's own.
    TMPDIR: tempDir('gemini-tmp-'),
    ...(mock ? { GEMINI_API_KEY: geminiKey, GOOGLE_GEMINI_BASE_URL: mock.url } : {}),
    ...overrides,
  })
  return { driver: new GeminiDriver(loadConfig(env, dir), env), workspace }
}

// The contract and the specifics (each its own mock model) at once; the tests of each one after another.
describe.concurrent('gemini: the driver contract', () => {
  describeDriverContract('gemini', {
    create: (mock) => geminiDriver(mock).driver,
    createMissing: (mock) => geminiDriver(mock, { GEMINI_PATH: '/nonexistent/gemini' }).driver,
    writableRequest: { sandbox: 'workspace-write' },
    // the key reached the configured endpoint through the env; the run reports its session id and usage
    checkTextRun: (events, mock) => {
      expect(mock.requests[0]?.headers['x-goog-api-key']).toBe(geminiKey)
      expect(mock.requests[0]?.path).toContain(`/models/${geminiModel}:streamGenerateContent`)
      expect(events.find((e) => e.type === 'agent.session')).toMatchObject({
        agent: 'gemini',
        agentSessionId: expect.any(String),
      })
      expect(completionOf(events).usage?.outputTokens).toBeGreaterThan(0)
    },
  })
})

const noHooks: SessionHooks = { requestApproval: async () => 'decline' }
const text = (t: string): TurnInput => [{ type: 'text', text: t }]
const turn = (session: AgentSession, t: string) =>
  collect(session.turn(text(t), new AbortController().signal))
const finalText = (events: AgentEvent[]) =>
  events.findLast((e) => e.type === 'item.completed' && e.item.type === 'agent_message')

/** A mock model of its own and, for each test, a fresh driver and workspace on it: the state of one lane. */
function specificsLane() {
  const t = {} as { mock: MockLlm; driver: GeminiDriver; workspace: string }
  beforeAll(async () => {
    t.mock = await startMockLlm()
  })
  afterAll(async () => {
    await t.mock.close()
  })
  beforeEach(() => {
    t.mock.reset()
    ;({ driver: t.driver, workspace: t.workspace } = geminiDriver(t.mock))
  })
  return t
}

// The specifics in two lanes (each its own mock model) at once with the contract's; the tests of a lane in order.
// (A lane is a describe.concurrent of its own: the describe.sequential blocks inside one run one after another.)
describe.concurrent('gemini: its specifics (runs, a session)', () => {
  describe.sequential('gemini specifics', () => {
    const t = specificsLane()

    // its run's key, endpoint, session id and usage: checked on the contract's text run (checkTextRun)
    it('gives the key only through the env, not its arguments', () => {
      const args = t.driver.buildArgs({ sandbox: 'read-only' })
      expect(args.join(' ')).not.toContain(geminiKey)
      expect(args).toEqual([
        '-p',
        '',
        '-o',
        'stream-json',
        '--skip-trust',
        '--allowed-mcp-server-names',
        'agent-gateway-allows-no-mcp-server',
        `--model=${geminiModel}`,
        '--approval-mode',
        'default',
      ])
    })

    // one run for both: with either broken (a shell offered read-only, the model's name parsed as the flag that
    // allows the shell) the command runs and writes its file
    it('read-only offers no shell, and a requested model that spells an option reaches the model API as given, never parsed as a flag', async () => {
      const model = '--allowed-tools=run_shell_command'
      t.mock.script({ kind: 'exec_command', cmd: 'echo nope > blocked.txt' }, { kind: 'text', text: 'tried' })
      const events = await collect(
        t.driver.run({ prompt: 'try to write', cwd: t.workspace, model }, new AbortController().signal),
      )
      expect(completionOf(events).status).toBe('succeeded')
      const item = events.find((e) => e.type === 'item.completed' && e.item.type === 'command_execution')
      expect(item).toMatchObject({ item: { status: 'failed', exitCode: null } })
      expect(existsSync(path.join(t.workspace, 'blocked.txt'))).toBe(false)
      expect(decodeURIComponent(t.mock.requests[0]?.path ?? '')).toContain(`/models/${model}:`)
    })

    // One session for both: a turn whose gemini is killed between two that complete, the next one carrying the first's
    // history (each turn is a gemini process of its own, ~2.5 s of CPU: two fewer than two tests, session 40)
    it('a session carries its history and resumes by id, also from a new session object; a turn whose gemini was killed (kill -9) fails saying so, leaves no process, and the next turn resumes the chat', async () => {
      const session = await t.driver.openSession({ cwd: t.workspace }, noHooks)
      const id = session.agentSessionId
      t.mock.script(
        { kind: 'text', text: 'noted the kiwi' },
        { kind: 'text', text: 'never seen', delayMs: 20_000 },
        { kind: 'text', text: 'it was kiwi' },
      )
      const first = await turn(session, 'remember the word kiwi')
      expect(first[0]).toEqual({ type: 'turn.started' })
      expect(first.at(-1)).toMatchObject({ type: 'turn.completed', status: 'completed' })
      expect(first.find((e) => e.type === 'agent.session')).toMatchObject({ agentSessionId: id })

      const asked = t.mock.requests.length
      // gemini's turn.started comes before its process: the kill waits beside the turn, for the model request
      const killed = waitFor(() => t.mock.requests.length > asked).then(() => {
        for (const p of processesUnder(t.workspace)) process.kill(p.pid, 'SIGKILL')
      })
      const seen = await turn(session, 'killed mid-turn')
      await killed
      expect(seen.at(-1)).toMatchObject({ type: 'turn.failed', error: expect.stringContaining('SIGKILL') })
      expect(seen.filter((e) => e.type === 'turn.started')).toHaveLength(1)
      expect(await waitUntilGone(() => processesUnder(t.workspace))).toEqual([])

      const second = await turn(session, 'which word did I ask you to remember?')
      expect(second.at(-1)).toMatchObject({ type: 'turn.completed', status: 'completed' })
      expect(finalText(second)).toMatchObject({ item: { text: 'it was kiwi' } })
      expect(session.agentSessionId).toBe(id)
      const history = JSON.stringify(t.mock.requests.at(-1)?.body)
      expect(history).toContain('remember the word kiwi')
      expect(history).toContain('noted the kiwi')
      for (const ev of [...first, ...second]) expect(agentEvent.safeParse(ev).success).toBe(true)
      expect(await session.read(true)).toMatchObject({
        turns: [{ status: 'completed' }, { status: 'failed' }, { status: 'completed' }],
      })

      t.mock.script({ kind: 'text', text: 'still here' })
      const resumed = await t.driver.resumeSession(id, { cwd: t.workspace }, noHooks)
      const third = await turn(resumed, 'third turn')
      expect(third.at(-1)).toMatchObject({ type: 'turn.completed', status: 'completed' })
      expect(JSON.stringify(t.mock.requests.at(-1)?.body)).toContain('it was kiwi')
      expect(await resumed.read(true)).toMatchObject({ sessionId: id, turns: [{ status: 'completed' }] })
    }, 120_000) // four Gemini CLI processes: under load each takes 10+ s to start
  })
})

describe.concurrent('gemini: its specifics (session turns, some ended early)', () => {
  describe.sequential('gemini specifics', () => {
    const t = specificsLane()

    it('a shell tool call in a session turn becomes a command_execution item', async () => {
      const session = await t.driver.openSession({ cwd: t.workspace, sandbox: 'workspace-write' }, noHooks)
      t.mock.script(
        { kind: 'exec_command', cmd: 'echo session > s.txt && echo wrote' },
        { kind: 'text', text: 'ok' },
      )
      const events = await turn(session, 'write the file')
      expect(events.find((e) => e.type === 'item.started')).toMatchObject({
        item: { type: 'command_execution', status: 'in_progress' },
      })
      const done = events.find((e) => e.type === 'item.completed' && e.item.type === 'command_execution')
      expect(done).toMatchObject({
        item: { command: 'echo session > s.txt && echo wrote', exitCode: 0, status: 'completed' },
      })
      if (done?.type === 'item.completed' && done.item.type === 'command_execution')
        expect(done.item.aggregatedOutput).toContain('wrote')
      expect(readFileSync(path.join(t.workspace, 's.txt'), 'utf8').trim()).toBe('session')
      expect(t.mock.lastUserText(t.mock.requests[0]!)).toBe('write the file')
    })

    it('interrupt during a shell command ends the turn as interrupted and leaves no process', async () => {
      const session = await t.driver.openSession({ cwd: t.workspace, sandbox: 'workspace-write' }, noHooks)
      t.mock.script({ kind: 'exec_command', cmd: 'sleep 30' }, { kind: 'text', text: 'never' })
      const events: AgentEvent[] = []
      for await (const ev of session.turn(text('sleep a while'), new AbortController().signal)) {
        events.push(ev)
        if (ev.type === 'item.started' && ev.item.type === 'command_execution') {
          await waitFor(() => processesUnder(t.workspace).some((p) => p.cmd.includes('sleep 30')))
          await session.interrupt()
        }
      }
      expect(events.at(-1)).toMatchObject({ type: 'turn.completed', status: 'interrupted' })
      expect(await waitUntilGone(() => processesUnder(t.workspace))).toEqual([])
    })

    it('steer and fork are refused; probe explains missing credentials', async () => {
      const session = await t.driver.openSession({ cwd: t.workspace }, noHooks)
      await expect(session.steer(text('more'))).rejects.toMatchObject({ code: 'conflict' })
      await expect(session.fork()).rejects.toMatchObject({ code: 'invalid_request' })
      expect(t.driver.capabilities).toMatchObject({ sessions: true, fork: false, interrupt: true })
      const status = await geminiDriver(null).driver.probe()
      expect(status).toMatchObject({ installed: true, authenticated: false })
      expect(status.hint).toMatch(/GEMINI_API_KEY/)
    })
  })
})
