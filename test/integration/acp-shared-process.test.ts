import { mkdirSync, readFileSync, realpathSync } from 'node:fs'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { acpPreset } from '../../src/agents/acp/agent-spec.js'
import { AcpDriver } from '../../src/agents/acp.js'
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

/** The last (non-side) model request whose input contains `text`, as JSON text. */
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

  function driver(perProcess?: number) {
    const g = gatewayEnv(mock, perProcess ? { ACP_SESSIONS_PER_PROCESS: String(perProcess) } : {})
    dir = g.dir
    return new AcpDriver(loadConfig(g.env, g.dir), acpPreset('codex-acp'), g.env)
  }

  /** A session in `dir/name` (default: the one workspace all sessions share). */
  async function open(d: AcpDriver, name = 'workspace'): Promise<AgentSession & { pid?: number }> {
    const cwd = path.join(dir, name)
    mkdirSync(cwd, { recursive: true })
    const s = await d.openSession({ cwd, sandbox: 'workspace-write' }, hooks)
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

  it('two sessions on one process keep their own history and events; the sandbox writes their cwd', async () => {
    mock.on('alpha first', { kind: 'text', text: 'alpha answer' })
    mock.on('beta first', { kind: 'text', text: 'beta answer' })
    mock.on('beta second', { kind: 'text', text: 'beta answer two' })
    mock.on('write', { kind: 'exec_command', cmd: 'pwd > where.txt' }, { kind: 'text', text: 'wrote' })
    const d = driver()
    const a = await open(d)
    const b = await open(d)
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
    // the workspace-write sandbox of a shared process lets a session's command write its cwd
    const wrote = await collect(b, 'write where you are')
    expect(wrote.at(-1)).toMatchObject({ type: 'turn.completed', status: 'completed' })
    expect(
      wrote.find((e) => e.type === 'item.completed' && e.item.type === 'command_execution'),
    ).toMatchObject({ item: { status: 'completed', exitCode: 0 } })
    expect(readFileSync(path.join(dir, 'workspace', 'where.txt'), 'utf8').trim()).toBe(
      realpathSync(path.join(dir, 'workspace')),
    )
  })

  it('cancelling one session leaves the other untouched; the process ends with its last session', async () => {
    mock.on('slow alpha', { kind: 'text', text: 'too late', delayMs: 20_000 })
    mock.on('quick beta', { kind: 'text', text: 'beta done' })
    mock.on('beta after', { kind: 'text', text: 'beta still here' })
    const d = driver()
    const a = await open(d)
    const b = await open(d)
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
    const [s1, s2, s3] = [await open(d), await open(d), await open(d)]
    expect(s2.pid).toBe(s1.pid)
    expect(s3.pid).not.toBe(s1.pid)
    expect(d.sharedProcesses).toBe(2)

    const own = driver(1)
    const [o1, o2] = [await open(own), await open(own)]
    expect(o2.pid).not.toBe(o1.pid)
    expect(own.sharedProcesses).toBe(0)
  })

  it('sessions with another cwd or other settings (sandbox) get another process', async () => {
    const d = driver()
    const a = await open(d)
    const elsewhere = await open(d, 'elsewhere')
    expect(elsewhere.pid).not.toBe(a.pid)
    const cwd = path.join(dir, 'workspace')
    const readOnly: AgentSession & { pid?: number } = await d.openSession(
      { cwd, sandbox: 'read-only' },
      hooks,
    )
    sessions.push(readOnly)
    expect(readOnly.pid).not.toBe(a.pid)
    expect(readOnly.pid).not.toBe(elsewhere.pid)
    expect(d.sharedProcesses).toBe(3)
  })
})
