import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { acpPreset } from '../../src/agents/acp/agent-spec.js'
import { AcpDriver } from '../../src/agents/acp/driver.js'
import type { RunRequest } from '../../src/agents/driver.js'
import { loadConfig } from '../../src/config/load.js'
import { type AgentEvent, agentEvent } from '../../src/protocol/events.js'
import { collect, completionOf, waitFor } from '../contract/driver-contract.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayEnv } from '../support/gateway.js'
import { processesUnder, waitUntilGone } from '../support/processes.js'
import { tempDir } from '../support/temp.js'

// One-shot acp:codex-acp runs on an agent process kept ready (ACP_WARM_RUNS, the default) against the same
// runs on a process of their own (ACP_WARM_RUNS=false): the real pinned codex-acp, the mock model.

let mock: MockLlm
let warm: AcpDriver
let cold: AcpDriver
let workspace: string
let warmData: string
const workspaces: string[] = []

beforeAll(async () => {
  mock = await startMockLlm()
  const make = (overrides: Record<string, string>) => {
    const { env, dir } = gatewayEnv(mock, overrides)
    return new AcpDriver(loadConfig(env, dir), acpPreset('codex-acp'), env)
  }
  const warmEnv = gatewayEnv(mock, {})
  warm = new AcpDriver(loadConfig(warmEnv.env, warmEnv.dir), acpPreset('codex-acp'), warmEnv.env)
  warmData = warmEnv.env.DATA_DIR!
  cold = make({ ACP_WARM_RUNS: 'false' })
})
afterAll(async () => {
  await warm?.close()
  for (const w of [...workspaces, warmData]) expect(await waitUntilGone(() => processesUnder(w))).toEqual([])
  await cold?.close()
  await mock?.close()
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
  for (const ev of events) expect(agentEvent.safeParse(ev).success, JSON.stringify(ev)).toBe(true)
  expect(events[0]?.type).toBe('run.started')
  expect(events.filter((e) => e.type === 'run.completed')).toHaveLength(1)
  const items = events.flatMap((e): Record<string, unknown>[] => {
    if (e.type !== 'item.completed') return []
    const item = e.item
    if (item.type === 'agent_message') return [{ type: item.type, text: item.text }]
    if (item.type === 'command_execution')
      return [{ type: item.type, command: item.command, status: item.status }]
    return [{ type: item.type }]
  })
  const { status, exitCode, reason, finalResponse } = completionOf(events)
  const frame = events
    .filter((e) =>
      [
        'run.started',
        'agent.session',
        'turn.started',
        'turn.completed',
        'turn.failed',
        'run.completed',
      ].includes(e.type),
    )
    .map((e) => e.type)
  return { items, frame, completed: { status, exitCode, reason, finalResponse } }
}

/**
 * The agent processes the warm driver keeps: read-only runs share one in its data dir, workspace-write runs
 * one in their workspace.
 */
const warmProcesses = () => [...processesUnder(workspace), ...processesUnder(warmData)]

async function both(script: () => void, req: () => RunRequest) {
  script()
  const onWarm = await collect(warm.run(req(), new AbortController().signal))
  mock.reset()
  script()
  const onCold = await collect(cold.run(req(), new AbortController().signal))
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
    // the process stays ready after the run, and serves the next one
    const kept = warmProcesses().map((p) => p.pid)
    expect(kept.length).toBeGreaterThan(0)
    expect(warm.sharedProcesses).toBe(1)
    mock.script({ kind: 'text', text: 'again' })
    const again = await collect(warm.run(request('again'), new AbortController().signal))
    expect(completionOf(again)).toMatchObject({ status: 'succeeded', finalResponse: 'again' })
    expect(warmProcesses().map((p) => p.pid)).toEqual(kept)
    // each run is a session of its own: the second one's model request carries nothing of the first
    expect(JSON.stringify(mock.requests.at(-1)?.body)).not.toContain('warm hello')
  })

  it('the run sandbox decides on the warm path as on the cold one: workspace-write writes in the run cwd, read-only does not', async () => {
    let n = 0
    const writing = await both(
      () =>
        mock.script(
          { kind: 'exec_command', cmd: `echo run${++n} > proof${n}.txt` },
          { kind: 'text', text: 'done' },
        ),
      () => request('write the proof', { sandbox: 'workspace-write' }),
    )
    const shape = (events: AgentEvent[]) => {
      const o = observed(events)
      return { ...o, items: o.items.map((i) => ({ type: i.type, status: i.status })) }
    }
    // (the items themselves are compared by the text run above: codex-acp may report a command's last update
    // after the prompt's answer under load, on either path)
    expect(shape(writing.onWarm).completed).toEqual(shape(writing.onCold).completed)
    expect(shape(writing.onWarm).items).toContainEqual({ type: 'command_execution', status: 'completed' })
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

  it('a timeout and a cancel end the run (timed_out, cancelled) and leave the process ready', async () => {
    mock.on('be slow', { kind: 'text', text: 'too late', delayMs: 20_000 })
    const timedOut = await collect(
      warm.run(request('be slow', { timeoutMs: 800 }), new AbortController().signal),
    )
    expect(completionOf(timedOut)).toMatchObject({ status: 'timed_out', reason: 'timed_out' })

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

    mock.script({ kind: 'text', text: 'still here' })
    const after = await collect(warm.run(request('are you there'), new AbortController().signal))
    expect(completionOf(after)).toMatchObject({ status: 'succeeded', finalResponse: 'still here' })
    expect(warm.sharedProcesses).toBeGreaterThan(0)
  })
})
