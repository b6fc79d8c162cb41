import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { CodexDriver } from '../../src/agents/codex/driver.js'
import type { RunRequest } from '../../src/agents/driver.js'
import { loadConfig } from '../../src/config/load.js'
import { localRunner } from '../../src/process/local-runner.js'
import type { ProcessRunner } from '../../src/process/runner.js'
import type { AgentEvent } from '../../src/protocol/events.js'
import { collect, completionOf, waitFor } from '../contract/driver-contract.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayEnv, requestInput } from '../support/gateway.js'
import { observedRun } from '../support/observed-run.js'
import { killAll, listProcesses, processesUnder, waitUntilGone } from '../support/processes.js'
import { tempDir } from '../support/temp.js'

// One-shot codex runs on the warm app-server (CODEX_WARM_RUNS, the default) against the same runs on
// `codex exec` (CODEX_WARM_RUNS=false): the real pinned codex, the mock model, the same scripts.

let mock: MockLlm
let warm: CodexDriver
let cold: CodexDriver
let workspace: string

beforeAll(async () => {
  mock = await startMockLlm()
  const make = (overrides: Record<string, string>) => {
    const { env, dir } = gatewayEnv(mock, overrides)
    return new CodexDriver(loadConfig(env, dir), env)
  }
  warm = make({})
  cold = make({ CODEX_WARM_RUNS: 'false' })
})
afterAll(async () => {
  await warm?.close()
  await cold?.close()
  await mock?.close()
})
beforeEach(() => {
  mock.reset()
  workspace = tempDir('warm-ws-')
})

const request = (prompt: string, extra: Partial<RunRequest> = {}): RunRequest => ({
  prompt,
  cwd: workspace,
  ...extra,
})

/** What a client observes of a run: the completed items in order, its frame, and how it ended. */
function observed(events: AgentEvent[]) {
  const { items, frame } = observedRun(events, (item) => ({ exitCode: item.exitCode }))
  const { status, exitCode, reason, finalResponse, usage } = completionOf(events)
  return {
    items,
    frame,
    completed: { status, exitCode, reason, finalResponse, hasUsage: (usage?.outputTokens ?? 0) > 0 },
  }
}

/** Runs the same script on both paths, one after the other. */
async function both(script: () => void, req: () => RunRequest) {
  script()
  const onWarm = await collect(warm.run(req(), new AbortController().signal))
  const warmRequests = mock.requests.length
  mock.reset()
  script()
  const onCold = await collect(cold.run(req(), new AbortController().signal))
  return { onWarm, onCold, warmRequests, coldRequests: mock.requests.length }
}

describe('warm one-shot codex runs', () => {
  it('a text run gives the same items, final response, usage and end as codex exec, on the running app-server', async () => {
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
      hasUsage: true,
    })
    // exec started a process of its own; the warm run names none (it ran on the app-server).
    expect(onCold[0]).toMatchObject({ type: 'run.started', pid: expect.any(Number) })
    expect(onWarm[0]).toEqual({ type: 'run.started', agent: 'codex' })
    // both name a thread codex keeps, so the run can be resumed later either way
    for (const events of [onWarm, onCold])
      expect(events.find((e) => e.type === 'agent.session')).toMatchObject({
        agent: 'codex',
        agentSessionId: expect.any(String),
      })
    const server = warm.appServerPid
    expect(server).toBeGreaterThan(0)
    mock.script({ kind: 'text', text: 'again' })
    const again = await collect(warm.run(request('again'), new AbortController().signal))
    expect(completionOf(again).finalResponse).toBe('again')
    expect(warm.appServerPid).toBe(server)
  })

  it('the next run with the same settings takes a thread started ahead: a new thread, no history of the last run', async () => {
    mock.script({ kind: 'text', text: 'first answer' })
    const started = warm.readyThreads.started
    const first = await collect(warm.run(request('first question'), new AbortController().signal))
    expect(completionOf(first).finalResponse).toBe('first answer')
    // started after run.completed, for the next runs in this workspace
    expect(warm.readyThreads.started).toBeGreaterThan(started)
    const served = warm.readyThreads.served
    mock.script({ kind: 'text', text: 'second answer' })
    const second = await collect(warm.run(request('second question'), new AbortController().signal))
    expect(warm.readyThreads.served).toBe(served + 1)
    expect(observed(second).completed).toEqual({
      status: 'succeeded',
      exitCode: 0,
      reason: 'exited',
      finalResponse: 'second answer',
      hasUsage: true,
    })
    const threadOf = (events: AgentEvent[]) =>
      events.find((e) => e.type === 'agent.session' && 'agentSessionId' in e)
    expect(threadOf(second)).not.toEqual(threadOf(first))
    // the model saw only this run's prompt
    expect(requestInput(mock)).toContain('second question')
    expect(requestInput(mock)).not.toContain('first question')
    // a run in another workspace does not take it
    const other = tempDir('warm-other-')
    mock.script({ kind: 'text', text: 'elsewhere' })
    const elsewhere = await collect(warm.run({ prompt: 'other', cwd: other }, new AbortController().signal))
    expect(completionOf(elsewhere).finalResponse).toBe('elsewhere')
    expect(warm.readyThreads.served).toBe(served + 1)
  })

  it('runs sent one right after the other each take a thread started ahead, each a new one', async () => {
    const cwd = tempDir('warm-back-to-back-')
    mock.script({ kind: 'text', text: 'opening' })
    await collect(warm.run({ prompt: 'opening', cwd }, new AbortController().signal))
    const served = warm.readyThreads.served
    const threads: unknown[] = []
    for (const n of [1, 2, 3]) {
      mock.script({ kind: 'text', text: `answer ${n}` })
      const events = await collect(warm.run({ prompt: `question ${n}`, cwd }, new AbortController().signal))
      expect(completionOf(events).finalResponse).toBe(`answer ${n}`)
      expect(requestInput(mock)).toContain(`question ${n}`)
      expect(requestInput(mock)).not.toContain(`question ${n - 1}`)
      threads.push(events.find((e) => e.type === 'agent.session' && 'agentSessionId' in e))
    }
    expect(warm.readyThreads.served).toBe(served + 3)
    expect(new Set(threads.map((t) => JSON.stringify(t))).size).toBe(3)
  })

  it('a thread started ahead and not taken within its keep-alive is let go', async () => {
    const { env, dir } = gatewayEnv(mock, {})
    const driver = new CodexDriver(loadConfig(env, dir), env, { readyThreadKeepMs: 300 })
    try {
      mock.script({ kind: 'text', text: 'once' })
      const run = await collect(driver.run(request('once'), new AbortController().signal))
      expect(completionOf(run).finalResponse).toBe('once')
      await waitFor(() => driver.readyThreads.waiting === 2)
      await waitFor(() => driver.readyThreads.waiting === 0)
      mock.script({ kind: 'text', text: 'later' })
      const later = await collect(driver.run(request('later'), new AbortController().signal))
      expect(completionOf(later).finalResponse).toBe('later')
      expect(driver.readyThreads.served).toBe(0)
    } finally {
      await driver.close()
    }
  })

  it('closing a driver with threads started ahead ends its app-server without unsubscribing them first', async () => {
    // the local runner, and every JSON-RPC message the gateway writes to the app-server, by method
    const sent: string[] = []
    const runner: ProcessRunner = {
      kind: localRunner.kind,
      start(spec) {
        const proc = localRunner.start(spec)
        const write = proc.stdin.write.bind(proc.stdin)
        proc.stdin.write = ((chunk: string, ...rest: never[]) => {
          const method = /"method":"([^"]+)"/.exec(String(chunk))?.[1]
          if (method) sent.push(method)
          return write(chunk, ...rest)
        }) as typeof proc.stdin.write
        return proc
      },
      reclaim: (leftover) => localRunner.reclaim(leftover),
      describe: () => localRunner.describe(),
    }
    const { env, dir } = gatewayEnv(mock, {})
    const driver = new CodexDriver(loadConfig(env, dir), env, { runner })
    let closed = false
    try {
      mock.script({ kind: 'text', text: 'once' })
      const run = await collect(driver.run(request('once'), new AbortController().signal))
      expect(completionOf(run).finalResponse).toBe('once')
      // the run's own thread is let go after its end; then two threads are started for the next runs
      await waitFor(() => sent.filter((m) => m === 'thread/unsubscribe').length === 1)
      await waitFor(() => sent.filter((m) => m === 'thread/start').length === 3)
      expect(driver.readyThreads.waiting).toBe(2)
      const server = driver.appServerPid
      await driver.close()
      closed = true
      expect(sent.filter((m) => m === 'thread/unsubscribe')).toHaveLength(1)
      expect(driver.readyThreads.waiting).toBe(0)
      expect(listProcesses().some((p) => p.pid === server)).toBe(false)
    } finally {
      if (!closed) await driver.close()
    }
  })

  it('a command the workspace-write sandbox allows runs the same way on both', async () => {
    let n = 0
    const { onWarm, onCold } = await both(
      () =>
        mock.script(
          { kind: 'exec_command', cmd: `echo run${++n} > proof${n}.txt && echo wrote` },
          { kind: 'text', text: 'done' },
        ),
      () => request('write the proof', { sandbox: 'workspace-write' }),
    )
    const w = observed(onWarm)
    const c = observed(onCold)
    expect(w.completed).toEqual(c.completed)
    expect(w.items.map((i) => i.type)).toEqual(c.items.map((i) => i.type))
    expect(w.items.find((i) => i.type === 'command_execution')).toMatchObject({ exitCode: 0 })
    expect(readFileSync(path.join(workspace, 'proof1.txt'), 'utf8').trim()).toBe('run1')
    expect(readFileSync(path.join(workspace, 'proof2.txt'), 'utf8').trim()).toBe('run2')
  })

  it('the read-only sandbox refuses a write on the warm path as on exec', async () => {
    let n = 0
    const { onWarm, onCold, warmRequests, coldRequests } = await both(
      () =>
        mock.script(
          { kind: 'exec_command', cmd: `echo no > blocked${++n}.txt` },
          { kind: 'text', text: 'tried' },
        ),
      () => request('try to write'),
    )
    expect(observed(onWarm).completed).toEqual(observed(onCold).completed)
    expect(observed(onWarm).completed.finalResponse).toBe('tried')
    // the model got the refused command's result back on both paths, and nothing was written
    expect(warmRequests).toBe(2)
    expect(coldRequests).toBe(2)
    expect(existsSync(path.join(workspace, 'blocked1.txt'))).toBe(false)
    expect(existsSync(path.join(workspace, 'blocked2.txt'))).toBe(false)
  })

  it('a model error fails the run on both paths', async () => {
    const { onWarm, onCold } = await both(
      () => mock.script({ kind: 'http_error', status: 500, body: '{"error":{"message":"mock exploded"}}' }),
      () => request('fail please'),
    )
    for (const events of [onWarm, onCold]) {
      expect(completionOf(events)).toMatchObject({ status: 'failed', reason: 'exited', exitCode: 1 })
      expect(completionOf(events).error).toBeTruthy()
    }
  })

  it('cancel stops a running command and leaves no process, on both paths', async () => {
    for (const driver of [warm, cold]) {
      const ws = tempDir('warm-cancel-')
      mock.reset()
      mock.script({ kind: 'exec_command', cmd: 'sleep 30' }, { kind: 'text', text: 'never' })
      const controller = new AbortController()
      const seen: AgentEvent[] = []
      let aborted = false
      for await (const ev of driver.run({ prompt: 'sleep', cwd: ws }, controller.signal)) {
        seen.push(ev)
        if (!aborted && ev.type === 'item.started' && ev.item.type === 'command_execution') {
          await waitFor(() => processesUnder(ws).some((p) => p.cmd.includes('sleep 30')))
          aborted = true
          controller.abort('cancelled')
        }
      }
      expect(aborted, JSON.stringify(seen)).toBe(true)
      expect(completionOf(seen)).toMatchObject({ status: 'cancelled', reason: 'cancelled' })
      expect(await waitUntilGone(() => processesUnder(ws))).toEqual([])
    }
    // the warm app-server itself goes on serving
    expect(listProcesses().some((p) => p.pid === warm.appServerPid)).toBe(true)
  })

  it('a command left running in a background terminal when the turn ends does not outlive the run, on both paths', async () => {
    for (const driver of [warm, cold]) {
      const ws = tempDir('warm-leftover-')
      mock.reset()
      // the command outlives its 300 ms yield (codex moves it to a background terminal), and the model ends
      // the turn without waiting for it
      mock.script(
        { kind: 'exec_command', cmd: 'sleep 43', yieldTimeMs: 300 },
        { kind: 'text', text: 'left it running' },
      )
      const sleeping = () => processesUnder(ws).filter((p) => p.cmd.includes('sleep 43'))
      try {
        const events = await collect(
          driver.run(
            { prompt: 'start it', cwd: ws, sandbox: 'danger-full-access' },
            new AbortController().signal,
          ),
        )
        expect(completionOf(events)).toMatchObject({ status: 'succeeded', finalResponse: 'left it running' })
        // it ran past its yield: still running when codex answered the model
        expect(mock.requests.length).toBe(2)
        expect(await waitUntilGone(sleeping)).toEqual([])
      } finally {
        // a failed expectation above must not leave the command running for 43 s
        killAll(sleeping())
      }
    }
  })

  it('a timeout ends the warm run as timed_out', async () => {
    mock.script({ kind: 'text', text: 'too late', delayMs: 20_000 })
    const events = await collect(
      warm.run(request('be slow', { timeoutMs: 800 }), new AbortController().signal),
    )
    expect(completionOf(events)).toMatchObject({ status: 'timed_out', reason: 'timed_out' })
    expect(events[0]).toEqual({ type: 'run.started', agent: 'codex' })
  })

  it('a run the app-server cannot serve (output schema) falls back to codex exec', async () => {
    mock.script({ kind: 'text', text: '{"answer":"yes"}' })
    const schema = {
      type: 'object',
      properties: { answer: { type: 'string' } },
      required: ['answer'],
      additionalProperties: false,
    }
    const events = await collect(
      warm.run(request('schema', { outputSchema: schema }), new AbortController().signal),
    )
    expect(events[0]).toMatchObject({ type: 'run.started', pid: expect.any(Number) })
    expect(completionOf(events)).toMatchObject({ status: 'succeeded', finalResponse: '{"answer":"yes"}' })
  })
})
