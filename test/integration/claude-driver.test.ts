import { existsSync, readdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ClaudeDriver } from '../../src/agents/claude/driver.js'
import type { SessionHooks } from '../../src/agents/session.js'
import { loadConfig } from '../../src/config/load.js'
import { AppError } from '../../src/protocol/errors.js'
import { type AgentEvent, agentEvent } from '../../src/protocol/events.js'
import { collect, completionOf, describeDriverContract, waitFor } from '../contract/driver-contract.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayEnv, testApiKey } from '../support/gateway.js'
import { processesUnder, waitUntilGone } from '../support/processes.js'
import { startRefusingProxy } from '../support/refusing-proxy.js'
import { tempDir } from '../support/temp.js'

/** The HOME of each driver claudeDriver made: Claude keeps its conversations under `.claude/projects`. */
const homes = new WeakMap<ClaudeDriver, string>()

/** Claude's files of a conversation (`<id>.jsonl` under its home's projects). */
function conversationFiles(driver: ClaudeDriver, id: string): string[] {
  const projects = path.join(homes.get(driver) ?? '/nonexistent', '.claude', 'projects')
  if (!existsSync(projects)) return []
  return readdirSync(projects)
    .map((dir) => path.join(projects, dir, `${id}.jsonl`))
    .filter((file) => existsSync(file))
}

function claudeDriver(mock: MockLlm | null, overrides: Record<string, string | undefined> = {}) {
  const { env, dir } = gatewayEnv(mock, {
    ...(mock ? { ANTHROPIC_BASE_URL: mock.url, ANTHROPIC_API_KEY: testApiKey } : {}),
    // Claude Code retries a 5xx answer; the mock would answer the retry with its default step.
    CLAUDE_CODE_MAX_RETRIES: '0',
    ...overrides,
  })
  const driver = new ClaudeDriver(loadConfig(env, dir), env)
  if (env.HOME) homes.set(driver, env.HOME)
  return driver
}

describeDriverContract('claude', {
  create: (mock) => claudeDriver(mock),
  createMissing: (mock) => claudeDriver(mock, { CLAUDE_PATH: '/nonexistent/claude' }),
  writableRequest: { sandbox: 'workspace-write' },
  // the key reached the model through the env; the run reports its session id and usage
  checkTextRun: (events, mock) => {
    expect(mock.requests[0]?.headers['x-api-key']).toBe(testApiKey)
    expect(events.find((e) => e.type === 'agent.session')).toMatchObject({
      agent: 'claude',
      agentSessionId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    })
    expect(completionOf(events).usage?.outputTokens).toBeGreaterThan(0)
  },
  // deltas are item.delta events of the agent message they complete
  checkStreamedRun: (events) => {
    const message = events.find((e) => e.type === 'item.completed' && e.item.type === 'agent_message')
    const deltas = events.filter((e) => e.type === 'item.delta')
    expect(deltas.length).toBeGreaterThan(1)
    if (message?.type !== 'item.completed') throw new Error('no agent message')
    expect(deltas.every((d) => d.type === 'item.delta' && d.itemId === message.item.id)).toBe(true)
    expect(deltas.map((d) => (d.type === 'item.delta' ? d.delta : '')).join('')).toBe(
      'streamed in several small pieces',
    )
  },
})

const hooks: SessionHooks = {
  requestApproval: async () => 'decline',
}

const turnText = (text: string) => [{ type: 'text' as const, text }]

function lastOf(events: AgentEvent[]) {
  const last = events.at(-1)
  if (last?.type !== 'turn.completed' && last?.type !== 'turn.failed')
    throw new Error(`last is ${last?.type}`)
  return last
}

describe('claude specifics', () => {
  let mock: MockLlm
  let driver: ClaudeDriver
  let workspace: string
  // claude's way out: it reaches nothing beyond this machine, and the tests see where it tried to go
  let proxy: Awaited<ReturnType<typeof startRefusingProxy>>

  beforeAll(async () => {
    mock = await startMockLlm()
    proxy = await startRefusingProxy()
    driver = claudeDriver(mock, proxy.env)
  })
  afterAll(async () => {
    await mock.close()
    await proxy.close()
  })
  beforeEach(() => {
    mock.reset()
    workspace = tempDir('claude-ws-')
  })

  const open = () => driver.openSession({ cwd: workspace, sandbox: 'workspace-write' }, hooks)

  // its run's key, session id and usage, and its deltas: checked on the contract's runs (checkTextRun, checkStreamedRun)
  it('passes the endpoint and key only through the env, not its arguments', () => {
    const args = driver.buildArgs({ sandbox: 'read-only' })
    expect(args.join(' ')).not.toContain(testApiKey)
    expect(args).toEqual(expect.arrayContaining(['-p', '--output-format', 'stream-json', '--verbose']))
    expect(args.slice(args.indexOf('--permission-mode'), args.indexOf('--permission-mode') + 2)).toEqual([
      '--permission-mode',
      'dontAsk',
    ])
  })

  it('a two-turn session carries the history (--session-id, then --resume); a fork of it starts from it under a new id', async () => {
    const session = await open()
    mock.script({ kind: 'text', text: 'first answer beta' }, { kind: 'text', text: 'second answer' })
    const first = await collect(session.turn(turnText('first prompt alpha'), new AbortController().signal))
    expect(first[0]?.type).toBe('turn.started')
    expect(lastOf(first)).toMatchObject({ type: 'turn.completed' })
    const id = session.agentSessionId
    const second = await collect(session.turn(turnText('second prompt gamma'), new AbortController().signal))
    expect(lastOf(second)).toMatchObject({ type: 'turn.completed' })
    for (const ev of [...first, ...second])
      expect(agentEvent.safeParse(ev).success, JSON.stringify(ev)).toBe(true)
    expect(second.filter((e) => e.type === 'run.started' || e.type === 'run.completed')).toEqual([])
    expect(session.agentSessionId).toBe(id)
    expect(second.find((e) => e.type === 'agent.session')).toMatchObject({ agentSessionId: id })
    const history = JSON.stringify(mock.requests.at(-1)?.body)
    expect(history).toContain('first prompt alpha')
    expect(history).toContain('first answer beta')
    expect(mock.lastUserText(mock.requests.at(-1)!)).toContain('second prompt gamma')
    expect(await session.read(false)).toEqual({ sessionId: id, turns: 2 })

    // forked (its history is the parent's): starts from the parent history under a new id, the parent left alone
    mock.script({ kind: 'text', text: 'fork answer' })
    const fork = await session.fork()
    expect(fork.agentSessionId).not.toBe(id)
    const forked = await collect(fork.turn(turnText('fork prompt zeta'), new AbortController().signal))
    expect(lastOf(forked)).toMatchObject({ type: 'turn.completed' })
    expect(forked.find((e) => e.type === 'agent.session')).toMatchObject({
      agentSessionId: fork.agentSessionId,
    })
    const forkHistory = JSON.stringify(mock.requests.at(-1)?.body)
    expect(forkHistory).toContain('second prompt gamma')
    expect(forkHistory).toContain('first answer beta')
    expect(session.agentSessionId).toBe(id)
  })

  // (one turn for both: a claude start each costs more than the checks)
  it('a failing command is a command_execution item with its exit code; WebFetch asks Anthropic about no domain', async () => {
    const session = await driver.openSession({ cwd: workspace, sandbox: 'danger-full-access' }, hooks)
    const page = { url: 'https://fetch-target.example/page', prompt: 'summarize' }
    mock.script(
      { kind: 'exec_command', cmd: 'echo oops; exit 3' },
      { kind: 'tool_use', name: 'WebFetch', input: page },
      { kind: 'text', text: 'it failed' },
    )
    proxy.seen.length = 0
    const events = await collect(
      session.turn(turnText('run the failing command'), new AbortController().signal),
    )
    // the fetch went straight to the site (the proxy refused it); before, Claude Code first asked
    // api.anthropic.com/api/web/domain_info?domain=fetch-target.example (CLAUDE_WEBFETCH_PREFLIGHT)
    expect(proxy.seen).toEqual(['CONNECT fetch-target.example:443'])
    expect(driver.buildArgs({ sandbox: 'read-only' }).join(' ')).toContain(
      '--settings {"skipWebFetchPreflight":true}',
    )
    const started = events.find((e) => e.type === 'item.started' && e.item.type === 'command_execution')
    const done = events.find((e) => e.type === 'item.completed' && e.item.type === 'command_execution')
    expect(started, JSON.stringify(events)).toBeDefined()
    expect(done).toMatchObject({
      item: { command: 'echo oops; exit 3', exitCode: 3, status: 'failed', aggregatedOutput: 'oops' },
    })
    expect(mock.requests.at(-1) && mock.lastUserText(mock.requests.at(-1)!)).toContain(
      'run the failing command',
    )
    expect(lastOf(events)).toMatchObject({ type: 'turn.completed' })
  })

  it('a command or other tool the permission mode refuses (approval policy never) is declined', async () => {
    const session = await driver.openSession({ cwd: workspace, sandbox: 'read-only' }, hooks)
    const write = { file_path: path.join(workspace, 'written.txt'), content: 'x' }
    const fetchPage = { url: 'http://127.0.0.1:9/page', prompt: 'summarize' }
    mock.script(
      { kind: 'exec_command', cmd: 'echo nope > blocked.txt' },
      { kind: 'tool_use', name: 'Write', input: write },
      { kind: 'tool_use', name: 'WebFetch', input: fetchPage },
      { kind: 'text', text: 'refused' },
    )
    const events = await collect(session.turn(turnText('try to write'), new AbortController().signal))
    expect(
      events.find((e) => e.type === 'item.completed' && e.item.type === 'command_execution'),
    ).toMatchObject({
      item: { exitCode: null, status: 'declined' },
    })
    // before: a refused tool other than Bash ended `failed`
    const tools = events.flatMap((e) =>
      e.type === 'item.completed' && e.item.type === 'tool_call' ? [e.item] : [],
    )
    expect(tools, JSON.stringify(tools)).toMatchObject([
      { tool: 'Write', status: 'declined' },
      { tool: 'WebFetch', status: 'declined' },
    ])
    expect(existsSync(path.join(workspace, 'blocked.txt'))).toBe(false)
    expect(existsSync(write.file_path)).toBe(false)
    expect(lastOf(events)).toMatchObject({ type: 'turn.completed' })
  })

  it('workspace-write without prompts (approval policy never): what acceptEdits refuses is declined', async () => {
    const session = await driver.openSession(
      { cwd: workspace, sandbox: 'workspace-write', approvalPolicy: 'never' },
      hooks,
    )
    const outside = path.join(path.dirname(workspace), `outside-${path.basename(workspace)}.txt`)
    mock.script(
      { kind: 'tool_use', name: 'WebFetch', input: { url: 'http://127.0.0.1:9/page', prompt: 'summarize' } },
      { kind: 'tool_use', name: 'Write', input: { file_path: outside, content: 'x' } },
      { kind: 'exec_command', cmd: `echo nope > ${outside}` },
      { kind: 'text', text: 'refused' },
    )
    const events = await collect(session.turn(turnText('try outside'), new AbortController().signal))
    const items = events.flatMap((e) =>
      e.type === 'item.completed' && e.item.type !== 'agent_message' ? [e.item] : [],
    )
    // before: the Write and the command (not WebFetch's "permissions to use") ended `failed`
    expect(items, JSON.stringify(items)).toMatchObject([
      {
        tool: 'WebFetch',
        status: 'declined',
        error: "Claude requested permissions to use WebFetch, but you haven't granted it yet.",
      },
      {
        tool: 'Write',
        status: 'declined',
        error: expect.stringMatching(
          /^Claude requested permissions to write to .*, but you haven't granted it/,
        ),
      },
      { type: 'command_execution', exitCode: null, status: 'declined' },
    ])
    expect(existsSync(outside)).toBe(false)
    expect(lastOf(events)).toMatchObject({ type: 'turn.completed' })
  })

  it('aborting a turn ends its process group and reports the turn interrupted', async () => {
    const session = await open()
    mock.script({ kind: 'text', text: 'never seen', delayMs: 20_000 })
    const controller = new AbortController()
    const seen: AgentEvent[] = []
    for await (const ev of session.turn(turnText('wait forever'), controller.signal)) {
      seen.push(ev)
      if (ev.type === 'turn.started') {
        await waitFor(() => processesUnder(workspace).length > 0)
        controller.abort('cancelled')
      }
    }
    expect(lastOf(seen)).toMatchObject({ type: 'turn.completed', status: 'interrupted' })
    expect(await waitUntilGone(() => processesUnder(workspace))).toEqual([])
  })

  it('a turn whose claude was killed (kill -9) before it saved a word fails saying so; the next turn runs', async () => {
    const session = await open()
    mock.script(
      { kind: 'text', text: 'never seen', delayMs: 20_000 },
      { kind: 'text', text: 'after the kill' },
    )
    const seen: AgentEvent[] = []
    for await (const ev of session.turn(turnText('killed mid-turn'), new AbortController().signal)) {
      seen.push(ev)
      if (ev.type === 'turn.started') {
        // it asked the model: it announced its session, and saved nothing of it yet
        await waitFor(() => mock.requests.some((r) => !r.side))
        for (const p of processesUnder(workspace)) process.kill(p.pid, 'SIGKILL')
      }
    }
    expect(lastOf(seen)).toMatchObject({ type: 'turn.failed', error: expect.stringContaining('SIGKILL') })
    expect(await waitUntilGone(() => processesUnder(workspace))).toEqual([])
    // before: `--resume` of a conversation claude never saved failed this turn and every later one
    const next = await collect(session.turn(turnText('after the kill'), new AbortController().signal))
    expect(lastOf(next)).toMatchObject({ type: 'turn.completed' })
    expect(next.filter((e) => e.type === 'turn.started')).toHaveLength(1)
    expect(next.find((e) => e.type === 'item.completed' && e.item.type === 'agent_message')).toMatchObject({
      item: { text: 'after the kill' },
    })
  })

  it('a turn whose conversation is gone (its file removed) says so first, then runs in a new one', async () => {
    const opened = await open()
    mock.script({ kind: 'text', text: 'first answer iota' }, { kind: 'text', text: 'answered afresh' })
    expect(
      lastOf(await collect(opened.turn(turnText('first prompt kappa'), new AbortController().signal))),
    ).toMatchObject({ type: 'turn.completed' })
    const id = opened.agentSessionId
    const files = conversationFiles(driver, id)
    expect(files).toHaveLength(1)
    for (const file of files) rmSync(file)
    // reopened (a restart) as the gateway does: it knows the session ran a turn
    const req = { cwd: workspace, sandbox: 'workspace-write' as const, hasHistory: true }
    const session = await driver.resumeSession(id, req, hooks)
    const next = await collect(session.turn(turnText('second prompt lambda'), new AbortController().signal))
    expect(lastOf(next)).toMatchObject({ type: 'turn.completed' })
    expect(next.filter((e) => e.type === 'turn.started')).toHaveLength(1)
    // before: the same turn, answered without the earlier turns, and nothing said so
    const notice = next.findIndex((e) => e.type === 'item.completed' && e.item.type === 'error')
    expect(next[notice]).toMatchObject({
      item: { id: 'context_lost', message: expect.stringMatching(/^context lost: .*no conversation/) },
    })
    const answer = next.findIndex((e) => e.type === 'item.completed' && e.item.type === 'agent_message')
    expect(next[answer]).toMatchObject({ item: { text: 'answered afresh' } })
    expect(notice).toBeLessThan(answer)
    for (const ev of next) expect(agentEvent.safeParse(ev).success, JSON.stringify(ev)).toBe(true)
    const history = JSON.stringify(mock.requests.at(-1)?.body)
    expect(history).toContain('second prompt lambda')
    expect(history).not.toContain('first prompt kappa')
    // the new conversation is saved under the same id: the turn after it resumes it, with nothing to say
    expect(session.agentSessionId).toBe(id)
    mock.script({ kind: 'text', text: 'third answer' })
    const third = await collect(session.turn(turnText('third prompt mu'), new AbortController().signal))
    expect(lastOf(third)).toMatchObject({ type: 'turn.completed' })
    expect(third.some((e) => e.type === 'item.completed' && e.item.type === 'error')).toBe(false)
    expect(JSON.stringify(mock.requests.at(-1)?.body)).toContain('second prompt lambda')
  })

  it('a session reopened before its first turn starts its conversation silently, later ones lost say so', async () => {
    // a restart or an idle unload before the first turn: Claude never had this conversation, nothing was lost
    const fresh = await driver.resumeSession(
      crypto.randomUUID(),
      { cwd: workspace, sandbox: 'read-only' },
      hooks,
    )
    mock.script({ kind: 'text', text: 'first of a reopened session' })
    const first = await collect(fresh.turn(turnText('first prompt nu'), new AbortController().signal))
    expect(lastOf(first)).toMatchObject({ type: 'turn.completed' })
    // before: a context_lost notice though there was no conversation yet
    expect(first.filter((e) => e.type === 'item.completed' && e.item.type === 'error')).toEqual([])
    expect(first.find((e) => e.type === 'item.completed' && e.item.type === 'agent_message')).toMatchObject({
      item: { text: 'first of a reopened session' },
    })
    const files = conversationFiles(driver, fresh.agentSessionId)
    expect(files).toHaveLength(1)
    // once it ran a turn it has a conversation to lose: gone, the next turn says so
    for (const file of files) rmSync(file)
    mock.script({ kind: 'text', text: 'answered afresh' })
    const next = await collect(fresh.turn(turnText('second prompt xi'), new AbortController().signal))
    expect(lastOf(next)).toMatchObject({ type: 'turn.completed' })
    expect(next.find((e) => e.type === 'item.completed' && e.item.type === 'error')).toMatchObject({
      item: { id: 'context_lost' },
    })
  })

  it('interrupt() ends the running turn; steer is refused', async () => {
    const session = await open()
    mock.script({ kind: 'text', text: 'never seen', delayMs: 20_000 })
    const turn = collect(session.turn(turnText('wait again'), new AbortController().signal))
    await waitFor(() => processesUnder(workspace).length > 0)
    await expect(session.steer(turnText('more'))).rejects.toMatchObject({ code: 'conflict' })
    await session.interrupt()
    expect(lastOf(await turn)).toMatchObject({ type: 'turn.completed', status: 'interrupted' })
    expect(await waitUntilGone(() => processesUnder(workspace))).toEqual([])
  })

  it('a model error fails the turn with the agent error', async () => {
    const session = await open()
    mock.script({ kind: 'http_error', status: 500 })
    const events = await collect(session.turn(turnText('fail this turn'), new AbortController().signal))
    expect(lastOf(events)).toMatchObject({ type: 'turn.failed', error: expect.any(String) })
  })

  it('probe says what to do when no credentials are configured', async () => {
    const status = await claudeDriver(null).probe()
    expect(status.installed).toBe(true)
    expect(status.authenticated).toBe(false)
    expect(status.hint).toMatch(/ANTHROPIC_API_KEY/)
  })

  it('call() is refused with an AppError', async () => {
    await expect(driver.call('skills/list', {})).rejects.toBeInstanceOf(AppError)
  })
})
