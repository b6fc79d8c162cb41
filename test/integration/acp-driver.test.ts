import { existsSync, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { AcpProcess } from '../../src/agents/acp/acp-process.js'
import { AcpSession } from '../../src/agents/acp/acp-session.js'
import { acpPreset } from '../../src/agents/acp/agent-spec.js'
import { AcpDriver } from '../../src/agents/acp/driver.js'
import type { ReopeningAcpSession } from '../../src/agents/acp/reopening-session.js'
import { modelUpstreams } from '../../src/agents/model-upstreams.js'
import type { AgentSession, ApprovalAsk, ApprovalDecision, SessionHooks } from '../../src/agents/session.js'
import { loadConfig } from '../../src/config/load.js'
import { KeyProxy } from '../../src/process/key-proxy/key-proxy.js'
import { KeyedRunner } from '../../src/process/key-proxy/keyed-runner.js'
import { localRunner } from '../../src/process/local-runner.js'
import type { LaunchSpec, ProcessRunner } from '../../src/process/runner.js'
import { type AgentEvent, agentEvent } from '../../src/protocol/events.js'
import {
  collect as collectEvents,
  completionOf,
  describeDriverContract,
  waitFor,
} from '../contract/driver-contract.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { expectCodexAcpCommandEnd } from '../support/codex-acp-command-end.js'
import { gatewayEnv, requestInput } from '../support/gateway.js'
import { processesUnder, waitUntilGone } from '../support/processes.js'
import { startRefusingProxy } from '../support/refusing-proxy.js'

// acp:codex-acp (the real pinned codex-acp) against the mock model, configured exactly like codex.

// The contract's one-shot runs are the cold path (a process per run); acp-warm-runs.test.ts compares the warm one.
function codexAcp(mock: MockLlm, command?: string) {
  const { env, dir, workspace } = gatewayEnv(mock, { ACP_WARM_RUNS: 'false' })
  const spec = acpPreset('codex-acp')
  return {
    driver: new AcpDriver(loadConfig(env, dir), command ? { ...spec, command } : spec, env),
    workspace,
  }
}

// acp:claude-agent-acp (Claude Code behind ACP) against the mock's Anthropic Messages format. Claude Code
// also asks the model for a session title: the mock answers that side request itself (`side: true`).

// It runs on the key proxy, as a gateway's agents do by default (MODEL_KEY_PROXY): one per mock model, ended after
// the file. claude-agent-acp then has a token of its own, and is authenticated at the proxy (proxy-authentication.ts).
const keyProxies = new Map<string, KeyProxy>()
afterAll(async () => {
  await Promise.all([...keyProxies.values()].map((proxy) => proxy.close()))
})

function claudeAcpDriver(env: Record<string, string | undefined>, dir: string, command?: string) {
  const config = loadConfig(env, dir)
  const upstream = config.ANTHROPIC_BASE_URL ?? ''
  let proxy = keyProxies.get(upstream)
  if (!proxy) {
    proxy = KeyProxy.create(modelUpstreams(config, env))
    keyProxies.set(upstream, proxy)
  }
  const spec = acpPreset('claude-agent-acp')
  return new AcpDriver(
    config,
    command ? { ...spec, command } : spec,
    env,
    new KeyedRunner(localRunner, proxy),
  )
}

function claudeAcp(mock: MockLlm, command?: string) {
  const { env, dir, workspace } = gatewayEnv(null, {
    ANTHROPIC_BASE_URL: mock.url,
    ANTHROPIC_API_KEY: 'sk-ant-test',
    CLAUDE_CODE_MAX_RETRIES: '0',
    ACP_WARM_RUNS: 'false',
  })
  return { driver: claudeAcpDriver(env, dir, command), workspace }
}

async function collect(session: AgentSession, text: string, signal = new AbortController().signal) {
  const events: AgentEvent[] = []
  for await (const ev of session.turn([{ type: 'text', text }], signal)) events.push(ev)
  return events
}

function expectWellFormed(events: AgentEvent[]) {
  for (const ev of events) expect(agentEvent.safeParse(ev).success, JSON.stringify(ev)).toBe(true)
  expect(events[0]?.type).toBe('turn.started')
  const ends = events.filter((e) => e.type === 'turn.completed' || e.type === 'turn.failed')
  expect(ends).toHaveLength(1)
  expect(events.at(-1)).toBe(ends[0])
}

const messages = (events: AgentEvent[]) =>
  events.flatMap((e) => (e.type === 'item.completed' && e.item.type === 'agent_message' ? [e.item.text] : []))

// Each turn is well formed, completed, and its one agent message is the answer at its index.
function expectAnswered(turns: AgentEvent[][], answers: string[]) {
  for (const [i, events] of turns.entries()) {
    expectWellFormed(events)
    expect(events.at(-1)).toMatchObject({ type: 'turn.completed', status: 'completed' })
    expect(messages(events)).toEqual([answers[i]])
  }
}

// Aborts a turn the model answers slowly once the model was asked: it ends interrupted, soon; close leaves no process.
async function expectAbortInterrupts(s: AgentSession, workspace: string, modelAsked: () => boolean) {
  const controller = new AbortController()
  const events: AgentEvent[] = []
  let abortedAt = 0
  for await (const ev of s.turn([{ type: 'text', text: 'take your time' }], controller.signal)) {
    events.push(ev)
    if (ev.type === 'turn.started') {
      await waitFor(modelAsked)
      abortedAt = Date.now()
      controller.abort()
    }
  }
  expectWellFormed(events)
  expect(events.at(-1)).toMatchObject({ type: 'turn.completed', status: 'interrupted' })
  // from the abort (not from before the agent started): far below the 20 s answer it did not wait for
  expect(Date.now() - abortedAt).toBeLessThan(8000)
  await s.close()
  expect(await waitUntilGone(() => processesUnder(workspace))).toEqual([])
}

/**
 * A codex-acp session the block's tests share, opened by the first of them with the block's settings on the block's
 * driver and workspace (one mock model per block): an agent start (codex-acp and the codex app-server of its cwd's
 * `config/read`) is what these tests cost, so a block pays one, not one per test. Each test has its own prompts;
 * the mock is reset after each. After the block its session is closed and leaves no process.
 */
function codexSharedSession(
  settings: { approvalPolicy?: 'untrusted'; sandbox?: 'workspace-write' },
  hooks: SessionHooks,
  resetMore = () => {},
) {
  const t = {
    mock: undefined as unknown as MockLlm,
    driver: undefined as unknown as AcpDriver,
    session: undefined as AgentSession | undefined,
    workspace: '',
  }
  beforeAll(async () => {
    t.mock = await startMockLlm()
    const h = codexAcp(t.mock)
    t.driver = h.driver
    t.workspace = h.workspace
  })
  afterAll(async () => {
    await t.session?.close()
    if (t.workspace) expect(await waitUntilGone(() => processesUnder(t.workspace))).toEqual([])
    await t.driver?.close()
    await t.mock?.close()
  })
  afterEach(() => {
    resetMore()
    t.mock.reset()
  })
  const open = async () => {
    t.session ??= await t.driver.openSession({ cwd: t.workspace, ...settings }, hooks)
    return t.session
  }
  return { t, open, settings }
}

function codexAcpSessions() {
  // workspace-write: the shell test's command writes nothing, yet runs sandboxed as codex runs it for a client
  describe.sequential('acp:codex-acp sessions', () => {
    const hooks: SessionHooks = { requestApproval: async () => 'decline' }
    const { t, open, settings } = codexSharedSession({ sandbox: 'workspace-write' }, hooks)

    it('two turns in one session: the second model request carries the first', async () => {
      t.mock.script({ kind: 'text', text: 'answer one' }, { kind: 'text', text: 'answer two', deltas: true })
      const s = await open()
      expect(s.agentSessionId).toMatch(/^[0-9a-f-]{36}$/)
      const first = await collect(s, 'prompt one')
      const second = await collect(s, 'prompt two')
      expectAnswered([first, second], ['answer one', 'answer two'])
      expect(second.filter((e) => e.type === 'item.delta').length).toBeGreaterThan(1)
      expect(t.mock.requests).toHaveLength(2)
      for (const text of ['prompt one', 'answer one', 'prompt two'])
        expect(requestInput(t.mock, 1)).toContain(text)
    })

    it('a shell tool call is a command_execution item with its output', async () => {
      // codex subscribes to a command's output after it started (what it printed before never reaches the ACP
      // wire): the command waits before it prints; its yield time is explicit (acp-command-output.test.ts)
      t.mock.script(
        { kind: 'exec_command', cmd: 'sleep 0.5; echo tool-output', yieldTimeMs: 10_000 },
        { kind: 'text', text: 'ran it' },
      )
      const events = await collect(await open(), 'run it')
      expectWellFormed(events)
      const started = events.find((e) => e.type === 'item.started' && e.item.type === 'command_execution')
      expect(started).toBeDefined()
      const done = events.find((e) => e.type === 'item.completed' && e.item.type === 'command_execution')
      expect(done).toMatchObject({ item: { command: 'sleep 0.5; echo tool-output' } })
      if (done?.type === 'item.completed' && done.item.type === 'command_execution') {
        expect(done.item.aggregatedOutput).toContain('tool-output')
        expectCodexAcpCommandEnd(done.item)
      }
      expect(messages(events)).toEqual(['ran it'])
    })

    it('steer is a conflict and fork is unsupported', async () => {
      const s = await open()
      await expect(s.steer([{ type: 'text', text: 'x' }])).rejects.toMatchObject({ code: 'conflict' })
      await expect(s.fork()).rejects.toMatchObject({ code: 'invalid_request' })
    })

    // Its process killed: its output ends (the connection closes) a moment before its exit is known. A turn sent
    // then (its prompt never reaches the agent) is sent once more on a reopened process, in the same turn (before:
    // it failed, "ended: signal SIGKILL").
    it('a turn sent to an agent that died unnoticed is sent again on a reopened process, with its history', async () => {
      t.mock.script({ kind: 'text', text: 'noted plum' }, { kind: 'text', text: 'it was plum' })
      const s = (await open()) as ReopeningAcpSession
      expectAnswered([await collect(s, 'the fruit is plum')], ['noted plum'])
      const pid = s.pid!
      const agent = (s as unknown as { session: { agent: AcpProcess } }).session.agent
      let unnoticed: boolean | undefined
      const sent = new Promise<AgentEvent[]>((resolve) => {
        agent.connection.signal.addEventListener('abort', () => {
          unnoticed = !agent.exited
          resolve(collect(s, 'which fruit'))
        })
      })
      process.kill(pid, 'SIGKILL')
      const events = await sent
      expect(unnoticed).toBe(true)
      expect(events.at(-1), JSON.stringify(events)).toMatchObject({ type: 'turn.completed' })
      expectAnswered([events], ['it was plum'])
      expect(events.filter((e) => e.type === 'turn.started')).toHaveLength(1)
      expect(s.pid).not.toBe(pid)
      expect(requestInput(t.mock, 1)).toContain('the fruit is plum')
    })

    // the block's session (its process reopened above) closed, then resumed: the block's tests after it use that
    it('resumeSession loads the session in a new process (session/load) and carries its history', async () => {
      t.mock.script({ kind: 'text', text: 'remembered answer' }, { kind: 'text', text: 'second answer' })
      const first = await open()
      await collect(first, 'first prompt')
      await first.close()
      t.session = await t.driver.resumeSession(first.agentSessionId, { cwd: t.workspace, ...settings }, hooks)
      expect(t.session.agentSessionId).toBe(first.agentSessionId)
      const events = await collect(t.session, 'second prompt')
      expectWellFormed(events)
      expect(messages(events)).toEqual(['second answer'])
      expect(requestInput(t.mock, 1)).toContain('remembered answer')
    })

    // (last: it closes the block's session)
    it('aborting a slow turn cancels it (interrupted); close leaves no process', async () => {
      t.mock.script({ kind: 'text', text: 'too late', delayMs: 20_000 })
      await expectAbortInterrupts(await open(), t.workspace, () => t.mock.requests.length > 0)
    })
  })

  describe.sequential('acp:codex-acp permissions', () => {
    const asks: ApprovalAsk[] = []
    let decision: ApprovalDecision = 'decline'
    const hooks: SessionHooks = {
      requestApproval: async (ask) => {
        asks.push(ask)
        return decision
      },
    }
    const { t, open } = codexSharedSession(
      { approvalPolicy: 'untrusted', sandbox: 'workspace-write' },
      hooks,
      () => {
        asks.length = 0
      },
    )

    it('a permission request goes to the hook; accepted, the file is written', async () => {
      decision = 'accept'
      rmSync(path.join(t.workspace, 'approved.txt'), { force: true })
      t.mock.script(
        { kind: 'exec_command', cmd: 'echo hi > approved.txt', yieldTimeMs: 10_000 },
        { kind: 'text', text: 'wrote it' },
      )
      const events = await collect(await open(), 'write the file')
      expectWellFormed(events)
      expect(asks).toHaveLength(1)
      expect(asks[0]).toMatchObject({
        kind: 'command',
        command: 'echo hi > approved.txt',
        cwd: t.workspace,
        // codex-acp's allow_always is an allow rule in CODEX_HOME (codex-acp-command-rules.ts): not offered
        options: ['accept', 'decline', 'cancel'],
        itemId: expect.any(String),
      })
      expect(readFileSync(path.join(t.workspace, 'approved.txt'), 'utf8').trim()).toBe('hi')
      const done = events.find((e) => e.type === 'item.completed' && e.item.type === 'command_execution')
      expect(done?.type === 'item.completed' && done.item.type === 'command_execution').toBe(true)
      if (done?.type === 'item.completed' && done.item.type === 'command_execution')
        expectCodexAcpCommandEnd(done.item)
    })

    // (in the session of the test above, which wrote the file: removed first)
    it('a permission request declined by the hook: the file is not written', async () => {
      decision = 'decline'
      rmSync(path.join(t.workspace, 'approved.txt'), { force: true })
      t.mock.script(
        { kind: 'exec_command', cmd: 'echo hi > approved.txt' },
        { kind: 'text', text: 'did not' },
      )
      const events = await collect(await open(), 'write the file')
      expectWellFormed(events)
      expect(asks).toHaveLength(1)
      expect(existsSync(path.join(t.workspace, 'approved.txt'))).toBe(false)
      const item = events.find((e) => e.type === 'item.completed' && e.item.type === 'command_execution')
      expect(item).toMatchObject({ item: { status: 'declined' } })
      // codex-acp's reject option is codex's `abort`: codex ends the turn (stopReason cancelled)
      expect(events.at(-1)).toMatchObject({ type: 'turn.completed', status: 'interrupted' })
    })
  })
}

// Claude Code's start is the slow part of these tests (two processes: claude-agent-acp and the claude binary): one
// session for the block's tests, each with its own prompt and file; closed after them, leaving no process.
function sharedSession(open: (mock: MockLlm, workspace: (dir: string) => void) => Promise<AgentSession>) {
  const t = {
    mock: undefined as unknown as MockLlm,
    session: undefined as unknown as AgentSession,
    workspace: '',
  }
  beforeAll(async () => {
    t.mock = await startMockLlm()
    t.session = await open(t.mock, (dir) => {
      t.workspace = dir
    })
  }, 60_000)
  afterAll(async () => {
    await t.session?.close()
    if (t.workspace) expect(await waitUntilGone(() => processesUnder(t.workspace))).toEqual([])
    await t.mock?.close()
  })
  afterEach(() => t.mock.reset())
  return t
}

// The permissions' and the sessions' tests in one session: its hooks answer what the running test decides.
function claudeAcpSessions() {
  describe.sequential('acp:claude-agent-acp sessions and permissions', () => {
    const asks: ApprovalAsk[] = []
    let decision: ApprovalDecision = 'decline'
    // Claude Code's way out: it reaches nothing beyond this machine, and the tests see where it tried to go
    let proxy: Awaited<ReturnType<typeof startRefusingProxy>> | undefined
    afterAll(async () => {
      await proxy?.close()
    })
    const t = sharedSession(async (mock, setWorkspace) => {
      proxy = await startRefusingProxy()
      const { env, dir, workspace } = gatewayEnv(null, {
        ANTHROPIC_BASE_URL: mock.url,
        ANTHROPIC_API_KEY: 'sk-ant-test',
        CLAUDE_CODE_MAX_RETRIES: '0',
        ...proxy.env,
      })
      setWorkspace(workspace)
      const driver = claudeAcpDriver(env, dir)
      expect((await driver.probe()).authenticated).toBe(true)
      return driver.openSession(
        { cwd: workspace },
        {
          requestApproval: async (ask) => {
            asks.push(ask)
            return decision
          },
        },
      )
    })
    afterEach(() => {
      asks.length = 0
    })

    for (const [answer, written] of [
      ['accept', true],
      ['decline', false],
    ] as const) {
      it(`a Bash permission request answered ${answer}: the file is ${written ? '' : 'not '}written`, async () => {
        decision = answer
        const file = `claude-${answer}.txt`
        t.mock.on(
          `write the ${answer} file`,
          { kind: 'exec_command', cmd: `echo hi > ${file}` },
          { kind: 'text', text: 'done' },
        )
        t.mock.setDefault({ kind: 'text', text: 'OK' })
        const events = await collect(t.session, `write the ${answer} file`)
        expectWellFormed(events)
        expect(asks.length).toBeGreaterThanOrEqual(1)
        expect(asks[0]).toMatchObject({
          kind: 'command',
          options: expect.arrayContaining(['accept', 'decline']),
        })
        expect(asks[0]!.command).toContain(`echo hi > ${file}`)
        expect(existsSync(path.join(t.workspace, file))).toBe(written)
        expect(events.at(-1)?.type).toBe('turn.completed')
      }, 60_000)
    }

    it('WebFetch goes to the site without asking api.anthropic.com about its domain first', async () => {
      decision = 'accept'
      const page = { url: 'https://fetch-target.example/page', prompt: 'summarize' }
      t.mock.script({ kind: 'tool_use', name: 'WebFetch', input: page }, { kind: 'text', text: 'fetched' })
      t.mock.setDefault({ kind: 'text', text: 'OK' })
      proxy!.seen.length = 0
      const events = await collect(t.session, 'fetch the page')
      expectWellFormed(events)
      // refused by the proxy; before, Claude Code first asked api.anthropic.com/api/web/domain_info?domain=... (the
      // session's flag settings now say skipWebFetchPreflight: CLAUDE_WEBFETCH_PREFLIGHT)
      expect(proxy!.seen).toEqual(['CONNECT fetch-target.example:443'])
      expect(events.at(-1)?.type).toBe('turn.completed')
    }, 60_000)

    it('two turns in one session: the last model request carries the first turn', async () => {
      t.mock.script({ kind: 'text', text: 'answer one' }, { kind: 'text', text: 'answer two' })
      const first = await collect(t.session, 'prompt one')
      const second = await collect(t.session, 'prompt two')
      expectAnswered([first, second], ['answer one', 'answer two'])
      for (const text of ['prompt one', 'answer one', 'prompt two'])
        expect(requestInput(t.mock)).toContain(text)
    }, 60_000)

    // Without them, Claude Code would ask again (the gateway accepting for it). The block's session: the tests
    // above answered accept and decline, which allow nothing for the session.
    it('reopened after its process died, it is given the rules accept_for_session allowed since it was opened', async () => {
      decision = 'accept_for_session'
      const asked = asks
      const s = t.session as ReopeningAcpSession
      const permissions = vi.spyOn(AcpSession.prototype, 'permission')
      // the questions of this session's agents only: the file's other groups run their sessions meanwhile
      const askedHere = () =>
        permissions.mock.contexts.filter((c) => (c as unknown as { cwd: string }).cwd === t.workspace).length
      try {
        const cmd = `node -e "require('fs').appendFileSync('kept.txt', 'x')"`
        const append = { kind: 'exec_command', cmd } as const
        t.mock.on('append once', append, { kind: 'text', text: 'appended' })
        t.mock.on('append again', append, { kind: 'text', text: 'appended again' })
        t.mock.setDefault({ kind: 'text', text: 'OK' })
        expectAnswered([await collect(s, 'append once')], ['appended'])
        expect([asked.length, askedHere()]).toEqual([1, 1])
        const pid = s.pid!
        const agent = (s as unknown as { session: { agent: AcpProcess } }).session.agent
        process.kill(-pid, 'SIGKILL')
        await waitFor(() => agent.exited)
        expectAnswered([await collect(s, 'append again')], ['appended again'])
        expect(s.pid).not.toBe(pid)
        expect(readFileSync(path.join(t.workspace, 'kept.txt'), 'utf8')).toBe('xx')
        // Claude Code did not ask
        expect([asked.length, askedHere()]).toEqual([1, 1])
      } finally {
        permissions.mockRestore()
      }
    }, 120_000)

    // (after the test above, in its reopened process; last: it closes the block's session)
    it('aborting a slow turn cancels it (interrupted); close leaves no process', async () => {
      t.mock.script({ kind: 'text', text: 'too late', delayMs: 20_000 })
      await expectAbortInterrupts(t.session, t.workspace, () => t.mock.requests.some((r) => !r.side))
    }, 60_000)
  })
}

// The two agents at once, claude-agent-acp's (the slower: Claude Code starts for each run and session) in two lanes
// (every block its own mock model); within a lane one block, and one test, after another.
describe.concurrent('acp:codex-acp', () => {
  describeDriverContract('acp:codex-acp', {
    create: (mock) => codexAcp(mock).driver,
    createMissing: (mock) => codexAcp(mock, '/nonexistent/codex-acp').driver,
    writableRequest: { sandbox: 'workspace-write' },
    // codex-acp sometimes never sends a command's last update (the command ran: the contract asserts its file)
    checkCommandEnd: expectCodexAcpCommandEnd,
  })
  codexAcpSessions()

  // Before, the codex app-server that reads its cwd's config (include_only) started first, then codex-acp's spawn
  // failed: a process and ~1 s of CPU for an agent that could not run.
  it('a missing codex-acp starts nothing: its run and its session fail at once, saying what is not found', async () => {
    const { env, dir, workspace } = gatewayEnv(null, { ACP_WARM_RUNS: 'false' })
    const started: string[] = []
    const counting: ProcessRunner = Object.assign(Object.create(localRunner) as ProcessRunner, {
      start: (spec: LaunchSpec) => {
        started.push(spec.command)
        return localRunner.start(spec)
      },
    })
    const spec = { ...acpPreset('codex-acp'), command: '/nonexistent/codex-acp' }
    const driver = new AcpDriver(loadConfig(env, dir), spec, env, counting)
    try {
      const events = await collectEvents(
        driver.run({ prompt: 'hello', cwd: workspace }, new AbortController().signal),
      )
      expect(completionOf(events)).toMatchObject({
        status: 'failed',
        reason: 'spawn_failed',
        error: '/nonexistent/codex-acp: not found',
      })
      await expect(
        driver.openSession({ cwd: workspace }, { requestApproval: async () => 'decline' }),
      ).rejects.toThrow(
        'acp:codex-acp could not start a session: /nonexistent/codex-acp ended: /nonexistent/codex-acp: not found',
      )
      expect(started).toEqual([])
      expect(processesUnder(dir)).toEqual([])
    } finally {
      await driver.close()
    }
  })
})

describe.concurrent('acp:claude-agent-acp', () => {
  describeDriverContract('acp:claude-agent-acp', {
    create: (mock) => claudeAcp(mock).driver,
    createMissing: (mock) => claudeAcp(mock, '/nonexistent/claude-agent-acp').driver,
    writableRequest: { sandbox: 'danger-full-access' },
  })
})

describe.concurrent('acp:claude-agent-acp sessions and permissions', () => {
  claudeAcpSessions()
})
