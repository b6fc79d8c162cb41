import { mkdirSync, readFileSync, realpathSync } from 'node:fs'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { acpPreset } from '../../src/agents/acp/agent-spec.js'
import { AcpDriver } from '../../src/agents/acp/driver.js'
import type { AgentSession, SessionHooks } from '../../src/agents/session.js'
import { loadConfig } from '../../src/config/load.js'
import { isProcessAlive } from '../../src/process/alive.js'
import type { AgentEvent } from '../../src/protocol/events.js'
import { waitFor } from '../contract/driver-contract.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayEnv } from '../support/gateway.js'
import { processesUnder, waitUntilGone } from '../support/processes.js'

// Sessions of acp:codex-acp (the real pinned codex-acp against the mock model) sharing agent processes.

const hooks: SessionHooks = { requestApproval: async () => 'decline' }

async function collect(session: AgentSession, text: string, signal = new AbortController().signal) {
  const events: AgentEvent[] = []
  for await (const ev of session.turn([{ type: 'text', text }], signal)) events.push(ev)
  return events
}

const messages = (events: AgentEvent[]) =>
  events.flatMap((e) => (e.type === 'item.completed' && e.item.type === 'agent_message' ? [e.item.text] : []))

/** The (non-side) model request whose input contains `text`, as JSON text. */
function requestWith(mock: MockLlm, text: string): string {
  const found = mock.requests
    .filter((r) => !r.side)
    .map((r) => JSON.stringify((r.body as { input?: unknown })?.input ?? ''))
    .filter((input) => input.includes(text))
  expect(found.length, `a model request with ${text}`).toBeGreaterThan(0)
  return found.at(-1)!
}

describe('acp:codex-acp sessions share agent processes', () => {
  let mock: MockLlm
  let dir: string
  const sessions: AgentSession[] = []

  /**
   * Sharing across cwds is what read-only sessions do under codex's `--sandbox` modes (CODEX_CONFINE_READS=false):
   * confined, a codex-acp process's commands read only its own cwd, so its sessions share it within one cwd (the
   * last test here).
   */
  function driver(perProcess?: number, confined = false) {
    const g = gatewayEnv(mock, {
      ...(perProcess ? { ACP_SESSIONS_PER_PROCESS: String(perProcess) } : {}),
      CODEX_CONFINE_READS: String(confined),
    })
    dir = g.dir
    return new AcpDriver(loadConfig(g.env, g.dir), acpPreset('codex-acp'), g.env)
  }

  /** Read-only sessions share a process whatever their cwd; workspace-write ones only within one cwd. */
  async function open(
    d: AcpDriver,
    name: string,
    sandbox: 'read-only' | 'workspace-write' = 'read-only',
  ): Promise<AgentSession & { pid?: number }> {
    const cwd = path.join(dir, name)
    mkdirSync(cwd, { recursive: true })
    const s = await d.openSession({ cwd, sandbox }, hooks)
    sessions.push(s)
    return s
  }

  beforeAll(async () => {
    mock = await startMockLlm()
  })
  afterAll(async () => {
    await mock?.close()
  })
  afterEach(async () => {
    for (const s of sessions.splice(0)) await s.close()
    expect(await waitUntilGone(() => processesUnder(dir))).toEqual([])
    mock.reset()
  })

  it('two sessions on one process keep their own history, cwd and events', async () => {
    mock.on('alpha first', { kind: 'text', text: 'alpha answer' })
    mock.on('beta first', { kind: 'text', text: 'beta answer' })
    mock.on('beta second', { kind: 'text', text: 'beta answer two' })
    mock.on('where', { kind: 'exec_command', cmd: 'pwd' }, { kind: 'text', text: 'here' })
    const d = driver()
    const a = await open(d, 'alpha')
    const b = await open(d, 'beta')
    expect(a.pid).toBeGreaterThan(0)
    expect(b.pid).toBe(a.pid)
    expect(d.sharedProcesses).toBe(1)
    expect(b.agentSessionId).not.toBe(a.agentSessionId)

    expect(messages(await collect(a, 'alpha first'))).toEqual(['alpha answer'])
    const bFirst = await collect(b, 'beta first')
    expect(messages(bFirst)).toEqual(['beta answer'])
    const bSecond = await collect(b, 'beta second')
    expect(messages(bSecond)).toEqual(['beta answer two'])
    // b's conversation carries its own first turn and nothing of a's
    const input = requestWith(mock, 'beta second')
    expect(input).toContain('beta answer')
    expect(input).not.toContain('alpha')
    // each session's commands run in its own cwd: the command's output went back to the model
    const where = await collect(b, 'where are you')
    expect(where.at(-1)).toMatchObject({ type: 'turn.completed', status: 'completed' })
    expect(where.some((e) => e.type === 'item.completed' && e.item.type === 'command_execution')).toBe(true)
    expect(requestWith(mock, 'where are you')).toContain(realpathSync(path.join(dir, 'beta')))
  })

  it('cancelling one session leaves the other untouched; the process ends with its last session', async () => {
    mock.on('slow alpha', { kind: 'text', text: 'too late', delayMs: 20_000 })
    mock.on('quick beta', { kind: 'text', text: 'beta done' })
    mock.on('beta after', { kind: 'text', text: 'beta still here' })
    const d = driver()
    const a = await open(d, 'alpha')
    const b = await open(d, 'beta')
    expect(b.pid).toBe(a.pid)
    const pid = a.pid!

    const controller = new AbortController()
    const slow = collect(a, 'slow alpha', controller.signal)
    await waitFor(() => mock.requests.some((r) => JSON.stringify(r.body).includes('slow alpha')))
    // b runs a whole turn while a's turn is in flight on the same process
    const quick = await collect(b, 'quick beta')
    expect(quick.at(-1)).toMatchObject({ type: 'turn.completed', status: 'completed' })
    expect(messages(quick)).toEqual(['beta done'])
    controller.abort()
    const aEvents = await slow
    expect(aEvents.at(-1)).toMatchObject({ type: 'turn.completed', status: 'interrupted' })
    expect(messages(aEvents)).toEqual([])
    const after = await collect(b, 'beta after')
    expect(after.at(-1)).toMatchObject({ type: 'turn.completed', status: 'completed' })
    expect(messages(after)).toEqual(['beta still here'])

    // closing a keeps the process for b; closing b ends it
    await a.close()
    expect(isProcessAlive(pid)).toBe(true)
    expect(messages(await collect(b, 'beta after again'))).toEqual(['beta still here'])
    await b.close()
    await waitFor(() => !isProcessAlive(pid))
    expect(d.sharedProcesses).toBe(0)
  })

  it('ACP_SESSIONS_PER_PROCESS bounds the sessions per process; 1 gives each session its own', async () => {
    const d = driver(2)
    const [s1, s2, s3] = [await open(d, 's1'), await open(d, 's2'), await open(d, 's3')]
    expect(s2.pid).toBe(s1.pid)
    expect(s3.pid).not.toBe(s1.pid)
    expect(d.sharedProcesses).toBe(2)

    const own = driver(1)
    const [o1, o2] = [await open(own, 'o1'), await open(own, 'o2')]
    expect(o2.pid).not.toBe(o1.pid)
    expect(own.sharedProcesses).toBe(0)
  })

  it('sessions with other settings (sandbox) get another process', async () => {
    const d = driver()
    const a = await open(d, 'a')
    const b = await open(d, 'b', 'workspace-write')
    expect(b.pid).not.toBe(a.pid)
    expect(d.sharedProcesses).toBe(2)
  })

  // codex-acp's sandbox makes its process's cwd writable: a workspace-write session's process runs in it
  it('workspace-write sessions share a process only within one cwd, and each writes its own', async () => {
    for (const file of ['a', 'b', 'c'])
      mock.on(
        `write ${file}`,
        { kind: 'exec_command', cmd: `echo hi > ${file}.txt`, yieldTimeMs: 10_000 },
        { kind: 'text', text: 'written' },
      )
    const d = driver()
    const a = await open(d, 'one', 'workspace-write')
    const b = await open(d, 'one', 'workspace-write')
    const c = await open(d, 'two', 'workspace-write')
    expect(b.pid).toBe(a.pid)
    expect(c.pid).not.toBe(a.pid)
    for (const [s, file] of [
      [a, 'a'],
      [b, 'b'],
      [c, 'c'],
    ] as const) {
      const events = await collect(s, `write ${file}`)
      expect(events.at(-1), JSON.stringify(events)).toMatchObject({
        type: 'turn.completed',
        status: 'completed',
      })
    }
    expect(readFileSync(path.join(dir, 'one', 'a.txt'), 'utf8')).toBe('hi\n')
    expect(readFileSync(path.join(dir, 'one', 'b.txt'), 'utf8')).toBe('hi\n')
    expect(readFileSync(path.join(dir, 'two', 'c.txt'), 'utf8')).toBe('hi\n')
  })

  it('with reads confined (CODEX_CONFINE_READS), read-only sessions share a process only within one cwd', async () => {
    const d = driver(undefined, true)
    const a = await open(d, 'same')
    const b = await open(d, 'same')
    const c = await open(d, 'elsewhere')
    expect(b.pid).toBe(a.pid)
    expect(c.pid).not.toBe(a.pid)
    expect(d.sharedProcesses).toBe(2)
  })
})
