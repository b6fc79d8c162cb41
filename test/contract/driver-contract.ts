import { existsSync, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { AgentDriver, RunRequest } from '../../src/agents/driver.js'
import { type AgentEvent, agentEvent } from '../../src/protocol/events.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { processesUnder, waitUntilGone } from '../support/processes.js'
import { tempDir } from '../support/temp.js'

/**
 * The behaviour every AgentDriver must show against its real CLI and the mock model server. A new driver
 * (claude, gemini, copilot, acp) reuses this unchanged: it only supplies how to build itself.
 */
export interface DriverUnderTest {
  /** A driver wired to `mock` (its provider settings point at mock.baseUrl). */
  create(mock: MockLlm): AgentDriver
  /** The same driver with a binary path that does not exist. */
  createMissing(mock: MockLlm): AgentDriver
  /** Extra request fields the agent needs (e.g. a sandbox that allows writes). */
  writableRequest?: Partial<RunRequest>
  /**
   * What the driver's own tests check on the contract's text run (its key, session id, usage): asserted on that
   * run, not on another start of the agent's CLI.
   */
  checkTextRun?: (events: AgentEvent[], mock: MockLlm) => void
  /** The same for how that run's deltas are mapped (its answer is streamed in pieces). */
  checkStreamedRun?: (events: AgentEvent[], mock: MockLlm) => void
  /**
   * How the contract's command item may end, for an agent that may not report it (codex-acp: the gateway then
   * closes it `failed` with no exit code); by default it completed with exit code 0.
   */
  checkCommandEnd?: (item: { status: string; exitCode: number | null }) => void
}

export async function collect(iterable: AsyncIterable<AgentEvent>): Promise<AgentEvent[]> {
  const events: AgentEvent[] = []
  for await (const ev of iterable) events.push(ev)
  return events
}

export const completionOf = (events: AgentEvent[]) => {
  const last = events.at(-1)
  if (last?.type !== 'run.completed') throw new Error(`last event is ${last?.type}, expected run.completed`)
  return last
}

export function describeDriverContract(name: string, subject: DriverUnderTest): void {
  // in order, also inside a block that runs at the same time as others: the tests share one mock model's script
  describe.sequential(`driver contract: ${name}`, () => {
    let mock: MockLlm
    let driver: AgentDriver
    let workspace: string

    beforeAll(async () => {
      mock = await startMockLlm()
      driver = subject.create(mock)
    })
    afterAll(async () => {
      await mock.close()
    })
    beforeEach(() => {
      mock.reset()
      workspace = tempDir('contract-ws-')
    })

    const request = (prompt: string, extra: Partial<RunRequest> = {}): RunRequest => ({
      prompt,
      cwd: workspace,
      ...extra,
    })

    it('probe reports an installed version and configured credentials', async () => {
      const status = await driver.probe()
      expect(status.installed).toBe(true)
      expect(status.version).toMatch(/\d+\.\d+/)
      expect(status.authenticated).toBe(true)
      expect(status.hint).toBeNull()
    })

    // one run for both (each a start of the agent's CLI, 1-3 s of CPU): the answer streamed in pieces; a whole answer
    // in one piece is what the driver's own tests and every other run get
    it('a text run streamed in deltas: run.started first, one run.completed last, valid events, the whole final response', async () => {
      mock.script({ kind: 'text', text: 'streamed in several small pieces', deltas: true })
      const events = await collect(driver.run(request('say the contract line'), new AbortController().signal))
      expect(events[0]?.type).toBe('run.started')
      expect(events.filter((e) => e.type === 'run.completed')).toHaveLength(1)
      for (const ev of events) expect(agentEvent.safeParse(ev).success, JSON.stringify(ev)).toBe(true)
      const done = completionOf(events)
      expect(done).toMatchObject({ status: 'succeeded', exitCode: 0, reason: 'exited' })
      expect(done.finalResponse).toBe('streamed in several small pieces')
      expect(mock.requests.some((r) => mock.lastUserText(r).includes('say the contract line'))).toBe(true)
      subject.checkTextRun?.(events, mock)
      subject.checkStreamedRun?.(events, mock)
    })

    it('a shell tool call becomes a command_execution item and really runs', async () => {
      rmSync(path.join(workspace, 'proof.txt'), { force: true })
      mock.script(
        // codex's yield time explicit and long: a command still running after it (a loaded machine) gets no end
        // from codex-acp (docs/ARCHITECTURE.md, ACP tool calls)
        { kind: 'exec_command', cmd: 'echo contract > proof.txt && echo wrote', yieldTimeMs: 10_000 },
        { kind: 'text', text: 'done' },
      )
      const events = await collect(
        driver.run(request('write the proof', subject.writableRequest), new AbortController().signal),
      )
      const item = events.find((e) => e.type === 'item.completed' && e.item.type === 'command_execution')
      expect(item, JSON.stringify(events)).toBeDefined()
      if (item?.type === 'item.completed' && item.item.type === 'command_execution') {
        expect(item.item.command).toContain('echo contract')
        if (subject.checkCommandEnd) subject.checkCommandEnd(item.item)
        else expect(item.item.exitCode).toBe(0)
      }
      expect(readFileSync(path.join(workspace, 'proof.txt'), 'utf8').trim()).toBe('contract')
      expect(completionOf(events).status).toBe('succeeded')
    })

    it('a model HTTP error fails the run with the agent error, without throwing', async () => {
      mock.script({ kind: 'http_error', status: 500, body: '{"error":{"message":"mock exploded"}}' })
      const done = completionOf(
        await collect(driver.run(request('fail please'), new AbortController().signal)),
      )
      expect(done.status).toBe('failed')
      expect(done.error).toBeTruthy()
    })

    it('a timeout ends the whole process group and records timed_out', async () => {
      mock.script({ kind: 'text', text: 'too late', delayMs: 20_000 })
      const events = await collect(
        driver.run(request('be slow', { timeoutMs: 800 }), new AbortController().signal),
      )
      expect(completionOf(events)).toMatchObject({ status: 'timed_out', reason: 'timed_out' })
      expect(await waitUntilGone(() => processesUnder(workspace))).toEqual([])
    })

    it('abort ends the whole process group and records the reason', async () => {
      mock.script({ kind: 'text', text: 'never seen', delayMs: 20_000 })
      const controller = new AbortController()
      const seen: AgentEvent[] = []
      for await (const ev of driver.run(request('wait forever'), controller.signal)) {
        seen.push(ev)
        if (ev.type === 'run.started') {
          await waitFor(() => processesUnder(workspace).length > 0)
          controller.abort('client_gone')
        }
      }
      expect(completionOf(seen)).toMatchObject({ status: 'cancelled', reason: 'client_gone' })
      expect(await waitUntilGone(() => processesUnder(workspace))).toEqual([])
    })

    it('a consumer that stops iterating early leaves no process behind', async () => {
      mock.script({ kind: 'text', text: 'never seen', delayMs: 20_000 })
      for await (const ev of driver.run(request('stop early'), new AbortController().signal)) {
        if (ev.type === 'run.started') {
          await waitFor(() => processesUnder(workspace).length > 0)
          break
        }
      }
      expect(await waitUntilGone(() => processesUnder(workspace))).toEqual([])
    })

    it('a missing binary yields a failed run (spawn_failed), never a throw', async () => {
      const missing = subject.createMissing(mock)
      expect((await missing.probe()).installed).toBe(false)
      const events = await collect(missing.run(request('hello'), new AbortController().signal))
      expect(events[0]?.type).toBe('run.started')
      expect(completionOf(events)).toMatchObject({ status: 'failed', reason: 'spawn_failed' })
      expect(existsSync(workspace)).toBe(true)
    })
  })
}

/**
 * Polls `check` until it holds. The 30 s default bounds how long a loaded 2-core machine may take to get there
 * (an agent CLI starting, asking the model, running a command); it ends as soon as the condition holds.
 */
export async function waitFor(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await new Promise((r) => setTimeout(r, 25))
  }
}
