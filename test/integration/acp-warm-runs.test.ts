import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { acpPreset } from '../../src/agents/acp/agent-spec.js'
import { AcpDriver } from '../../src/agents/acp/driver.js'
import type { RunRequest } from '../../src/agents/driver.js'
import { loadConfig } from '../../src/config/load.js'
import type { AgentEvent } from '../../src/protocol/events.js'
import { collect, completionOf, waitFor } from '../contract/driver-contract.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { expectCancelEndsEscaped } from '../support/escaped-commands.js'
import { gatewayEnv } from '../support/gateway.js'
import { observedRun } from '../support/observed-run.js'
import { killAll, processesInGroup, processesUnder, waitUntilGone } from '../support/processes.js'
import { tempDir } from '../support/temp.js'

// One-shot acp:codex-acp runs on an agent process kept ready (ACP_WARM_RUNS, the default) against the same
// runs on a process of their own (ACP_WARM_RUNS=false): the real pinned codex-acp, the mock model. Under codex's
// `--sandbox` modes (CODEX_CONFINE_READS=false), where read-only runs of every cwd share processes in DATA_DIR;
// confined, they share within one cwd (acp-shared-process.test.ts), and confinement.test.ts runs one confined.
const unconfined = { CODEX_CONFINE_READS: 'false' }

let mock: MockLlm
let warm: AcpDriver
let cold: AcpDriver
let workspace: string
let warmData: string
const workspaces: string[] = []

beforeAll(async () => {
  mock = await startMockLlm()
  const make = (overrides: Record<string, string>) => {
    const { env, dir } = gatewayEnv(mock, { ...unconfined, ...overrides })
    return new AcpDriver(loadConfig(env, dir), acpPreset('codex-acp'), env)
  }
  const warmEnv = gatewayEnv(mock, unconfined)
  warm = new AcpDriver(loadConfig(warmEnv.env, warmEnv.dir), acpPreset('codex-acp'), warmEnv.env)
  warmData = warmEnv.env.DATA_DIR!
  cold = make({ ACP_WARM_RUNS: 'false' })
})
afterAll(async () => {
  await warm?.close()
  await cold?.close()
  await mock?.close()
  for (const w of [...workspaces, warmData]) expect(await waitUntilGone(() => processesUnder(w))).toEqual([])
})
beforeEach(() => {
  mock.reset()
  workspace = tempDir('acp-warm-ws-')
  workspaces.push(workspace)
})

const request = (prompt: string, extra: Partial<RunRequest> = {}): RunRequest => ({
  prompt,
  cwd: workspace,
  ...extra,
})

/** What a client observes of a run: the completed items in order, and how it ended. */
function observed(events: AgentEvent[]) {
  const { items, frame } = observedRun(events, (item) => ({ status: item.status }))
  const { status, exitCode, reason, finalResponse } = completionOf(events)
  return { items, frame, completed: { status, exitCode, reason, finalResponse } }
}

/**
 * The agent processes the warm driver keeps: read-only runs share one in its data dir, workspace-write runs
 * one in their workspace.
 */
const warmProcesses = () => [...processesUnder(workspace), ...processesUnder(warmData)]

const sessionOf = (events: AgentEvent[]) =>
  events.find((e) => e.type === 'agent.session')?.agentSessionId ?? null

/**
 * A warm run like `req` (a text run), after which the driver opens the session for the next such run ahead
 * of time; resolves when that session is ready, with the ids of the sessions ready then.
 */
async function prime(req: RunRequest): Promise<string[]> {
  mock.script({ kind: 'text', text: 'primed' })
  const events = await collect(warm.run(req, new AbortController().signal))
  expect(completionOf(events)).toMatchObject({ status: 'succeeded', finalResponse: 'primed' })
  await waitFor(() => readyIn(warm, req.sandbox).length > 0)
  mock.reset()
  return readyIn(warm, req.sandbox)
}

/** The sessions `driver` opened ahead of time for runs in this test's workspace (read-only unless named). */
const readyIn = (driver: AcpDriver, sandbox: RunRequest['sandbox'] = 'read-only') =>
  driver.readySessions
    .filter((r) => r.cwd === workspace && r.sandbox === sandbox)
    .map((r) => r.agentSessionId)

/**
 * The same run on the warm driver (on a session opened ahead of time, proven by its id) and on the cold one.
 */
async function both(script: () => void, req: () => RunRequest) {
  const ready = await prime(req())
  script()
  const onWarm = await collect(warm.run(req(), new AbortController().signal))
  expect(ready).toContain(sessionOf(onWarm))
  mock.reset()
  script()
  const onCold = await collect(cold.run(req(), new AbortController().signal))
  // The cold run's process group ends with it. Awaited here: its codex-acp works in the same cwd as the warm
  // driver's shared process, so a test counting the processes there would count it while it still exits.
  const started = onCold[0]
  const group = started?.type === 'run.started' ? started.pid : undefined
  if (group) expect(await waitUntilGone(() => processesInGroup(group), 10_000)).toEqual([])
  return { onWarm, onCold }
}

describe('warm one-shot acp:codex-acp runs', () => {
  it('a text run gives the same items, final response and end as a cold run; the next run reuses the process', async () => {
    const { onWarm, onCold } = await both(
      () => mock.script({ kind: 'text', text: 'warm hello' }),
      () => request('say hello'),
    )
    expect(observed(onWarm)).toEqual(observed(onCold))
    expect(observed(onWarm).completed).toEqual({
      status: 'succeeded',
      exitCode: 0,
      reason: 'exited',
      finalResponse: 'warm hello',
    })
    expect(onCold[0]).toMatchObject({ type: 'run.started', pid: expect.any(Number) })
    expect(onWarm[0]).toEqual({ type: 'run.started', agent: 'acp:codex-acp' })
    // the process stays ready after the run, and serves the next one, on a session opened ahead of time
    const kept = warmProcesses().map((p) => p.pid)
    expect(kept.length).toBeGreaterThan(0)
    expect(warm.sharedProcesses).toBe(1)
    await waitFor(() => readyIn(warm).length > 0)
    const ready = readyIn(warm)
    expect(ready).not.toContain(sessionOf(onWarm))
    mock.script({ kind: 'text', text: 'again' })
    const again = await collect(warm.run(request('second-run-7c1e'), new AbortController().signal))
    expect(completionOf(again)).toMatchObject({ status: 'succeeded', finalResponse: 'again' })
    expect(ready).toContain(sessionOf(again))
    expect(warmProcesses().map((p) => p.pid)).toEqual(kept)
    // each run is a session of its own: the second one's model request carries nothing of the first
    expect(JSON.stringify(mock.requests.at(-1)?.body)).not.toContain('warm hello')
    expect(JSON.stringify(mock.requests.at(-1)?.body)).not.toContain('say hello')
    // and a session serves one run only: the next run gets another one
    await waitFor(() => readyIn(warm).length > 0)
    expect(readyIn(warm)).not.toContain(sessionOf(again))
    // a run's images go with its prompt as ACP image blocks: the model gets the PNG (before, a run's images were
    // dropped here: the API refused them with a 400)
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
      'base64',
    )
    writeFileSync(path.join(workspace, 'pixel.png'), png)
    mock.script({ kind: 'text', text: 'third' })
    const withImage = request('third', { images: [path.join(workspace, 'pixel.png')] })
    const third = await collect(warm.run(withImage, new AbortController().signal))
    expect(completionOf(third)).toMatchObject({ status: 'succeeded', finalResponse: 'third' })
    expect([sessionOf(onWarm), sessionOf(again)]).not.toContain(sessionOf(third))
    expect(JSON.stringify(mock.requests.at(-1)?.body)).not.toContain('second-run-7c1e')
    expect(JSON.stringify(mock.requests.at(-1)?.body)).toContain(
      `data:image/png;base64,${png.toString('base64')}`,
    )
  })

  it('the run sandbox decides on the warm path as on the cold one: workspace-write writes in the run cwd, read-only does not', async () => {
    let n = 0
    const writing = await both(
      () =>
        mock.script(
          { kind: 'exec_command', cmd: `echo run${++n} > proof${n}.txt`, yieldTimeMs: 10_000 },
          { kind: 'text', text: 'done' },
        ),
      () => request('write the proof', { sandbox: 'workspace-write' }),
    )
    const shape = (events: AgentEvent[]) => {
      const o = observed(events)
      return { ...o, items: o.items.map((i) => ({ type: i.type, status: i.status })) }
    }
    // (the items themselves are compared by the text run above. A command's status is not compared: under load
    // codex-acp may answer the prompt and never send the command's last update, on either path, and the item
    // then ends failed. What the sandbox decided is in the workspace.)
    expect(shape(writing.onWarm).completed).toEqual(shape(writing.onCold).completed)
    expect(shape(writing.onWarm).items.map((i) => i.type)).toContain('command_execution')
    expect(readFileSync(path.join(workspace, 'proof1.txt'), 'utf8').trim()).toBe('run1')
    expect(readFileSync(path.join(workspace, 'proof2.txt'), 'utf8').trim()).toBe('run2')

    const refused = await both(
      () =>
        mock.script(
          { kind: 'exec_command', cmd: `echo no > blocked${++n}.txt` },
          { kind: 'text', text: 'tried' },
        ),
      () => request('try to write'),
    )
    expect(shape(refused.onWarm).completed).toEqual(shape(refused.onCold).completed)
    expect(existsSync(path.join(workspace, 'blocked3.txt'))).toBe(false)
    expect(existsSync(path.join(workspace, 'blocked4.txt'))).toBe(false)
  })

  it('a timeout and a cancel end the run (timed_out, cancelled) on a session opened ahead, and leave the process ready', async () => {
    let ready = await prime(request('prime'))
    mock.on('be slow', { kind: 'text', text: 'too late', delayMs: 20_000 })
    const timedOut = await collect(
      warm.run(request('be slow', { timeoutMs: 800 }), new AbortController().signal),
    )
    expect(completionOf(timedOut)).toMatchObject({ status: 'timed_out', reason: 'timed_out' })
    expect(ready).toContain(sessionOf(timedOut))

    await waitFor(() => readyIn(warm).length > 0)
    ready = readyIn(warm)
    const controller = new AbortController()
    const seen: AgentEvent[] = []
    for await (const ev of warm.run(request('be slow again'), controller.signal)) {
      seen.push(ev)
      if (ev.type === 'turn.started') {
        await waitFor(() => mock.requests.some((r) => JSON.stringify(r.body).includes('be slow again')))
        controller.abort('client_gone')
      }
    }
    expect(completionOf(seen)).toMatchObject({ status: 'cancelled', reason: 'client_gone' })
    expect(ready).toContain(sessionOf(seen))

    mock.script({ kind: 'text', text: 'still here' })
    const after = await collect(warm.run(request('are you there'), new AbortController().signal))
    expect(completionOf(after)).toMatchObject({ status: 'succeeded', finalResponse: 'still here' })
    expect(warm.sharedProcesses).toBeGreaterThan(0)
  })

  it('a command that escaped the warm agent process tree (double fork) ends with its cancelled run; the process stays', {
    timeout: 120_000,
  }, async () => {
    const arg = `${3000 + Math.floor(Math.random() * 6000)}.${process.pid}`
    const escaped = () => processesUnder(workspace).filter((p) => p.cmd === `sleep ${arg}`)
    try {
      // no sandbox: the double fork reaches init (in bwrap's pid namespace it would die with the namespace)
      mock.on(
        'escape please',
        { kind: 'exec_command', cmd: `(setsid sleep ${arg} </dev/null >/dev/null 2>&1 &); sleep 31` },
        { kind: 'text', text: 'never' },
      )
      await expectCancelEndsEscaped(
        (signal) => warm.run(request('escape please', { sandbox: 'danger-full-access' }), signal),
        escaped,
      )
      expect(warm.sharedProcesses).toBeGreaterThan(0)
    } finally {
      killAll(escaped())
    }
  })

  it('a session opened ahead on a process that died is not used: the run opens one on a new process', async () => {
    const ready = await prime(request('prime'))
    const agents = processesUnder(warmData).filter((p) => p.cmd.includes('codex-acp'))
    expect(agents.length).toBeGreaterThan(0)
    killAll(agents)
    await waitFor(() => warm.sharedProcesses === 0)
    mock.script({ kind: 'text', text: 'on a new process' })
    const events = await collect(warm.run(request('after the crash'), new AbortController().signal))
    expect(completionOf(events)).toMatchObject({ status: 'succeeded', finalResponse: 'on a new process' })
    expect(ready).not.toContain(sessionOf(events))
    expect(warm.sharedProcesses).toBe(1)
  })
})

describe('sessions opened ahead of time', () => {
  it('one left unused for the keep-alive is closed, and the warm process ends with it', async () => {
    const { env, dir } = gatewayEnv(mock, unconfined)
    const data = env.DATA_DIR!
    const brief = new AcpDriver(loadConfig(env, dir), acpPreset('codex-acp'), env, undefined, 1500)
    try {
      mock.script({ kind: 'text', text: 'once' })
      const events = await collect(brief.run(request('once'), new AbortController().signal))
      expect(completionOf(events)).toMatchObject({ status: 'succeeded', finalResponse: 'once' })
      await waitFor(() => readyIn(brief).length === 1)
      expect(processesUnder(data).length).toBeGreaterThan(0)
      await waitFor(() => readyIn(brief).length === 0 && brief.sharedProcesses === 0, 15_000)
      expect(await waitUntilGone(() => processesUnder(data))).toEqual([])
    } finally {
      await brief.close()
    }
  })

  it('a run on a process its ready session filled still leaves one ready: opened once its own is closed', async () => {
    // two sessions per process: the ready session of the first workspace and the run in a second fill it
    const { env, dir } = gatewayEnv(mock, { ...unconfined, ACP_SESSIONS_PER_PROCESS: '2' })
    const data = env.DATA_DIR!
    const pair = new AcpDriver(loadConfig(env, dir), acpPreset('codex-acp'), env)
    const first = workspace
    const second = tempDir('acp-warm-second-')
    workspaces.push(second)
    const readyFor = (cwd: string) => pair.readySessions.filter((r) => r.cwd === cwd)
    try {
      mock.script({ kind: 'text', text: 'one' })
      expect(
        completionOf(await collect(pair.run(request('one'), new AbortController().signal))),
      ).toMatchObject({
        finalResponse: 'one',
      })
      await waitFor(() => readyFor(first).length === 1)
      mock.script({ kind: 'text', text: 'two' })
      const two = await collect(pair.run({ prompt: 'two', cwd: second }, new AbortController().signal))
      expect(completionOf(two)).toMatchObject({ finalResponse: 'two' })
      expect(pair.sharedProcesses).toBe(1)
      await waitFor(() => readyFor(second).length === 1)
      expect(readyFor(first)).toHaveLength(1)
    } finally {
      await pair.close()
    }
    expect(await waitUntilGone(() => processesUnder(data))).toEqual([])
  })

  it('closing the driver closes the sessions opened ahead and ends their processes', async () => {
    const { env, dir } = gatewayEnv(mock, unconfined)
    const data = env.DATA_DIR!
    const driver = new AcpDriver(loadConfig(env, dir), acpPreset('codex-acp'), env)
    try {
      mock.script({ kind: 'text', text: 'once' })
      await collect(driver.run(request('once'), new AbortController().signal))
      await waitFor(() => readyIn(driver).length === 1)
    } finally {
      await driver.close()
    }
    expect(driver.readySessions).toEqual([])
    expect(driver.sharedProcesses).toBe(0)
    expect(await waitUntilGone(() => processesUnder(data))).toEqual([])
  })
})
