import { existsSync } from 'node:fs'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CodexDriver } from '../../src/agents/codex/driver.js'
import { RpcTimeoutError } from '../../src/agents/codex-app-server/rpc-errors.js'
import type {
  AgentSession,
  ApprovalAsk,
  ApprovalDecision,
  SessionHooks,
  SessionRequest,
} from '../../src/agents/session.js'
import { loadConfig } from '../../src/config/load.js'
import { type AgentEvent, agentEvent } from '../../src/protocol/events.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { waitFor } from '../contract/driver-contract.js'
import { held, type MockLlm, type RecordedRequest, startMockLlm, whenAsked } from '../mock-llm/index.js'
import { enablePlanTool, twoStepPlan } from '../support/codex-plan.js'
import { cleanUpFakeAgentSessions, sessionsOnFakeAgent } from '../support/fake-agent-sessions.js'
import { gatewayEnv, testModel } from '../support/gateway.js'
import { processesUnder, waitUntilGone } from '../support/processes.js'
import { tempDir } from '../support/temp.js'

// The codex session driver on the real pinned `codex app-server` against the mock model.

interface Harness {
  driver: CodexDriver
  workspace: string
  req: SessionRequest
  asks: ApprovalAsk[]
  hooks: SessionHooks
  /** The answer the approval hook gives. */
  decision: ApprovalDecision
  env: Record<string, string | undefined>
  dir: string
}

function harness(mock: MockLlm): Harness {
  const { env, dir, workspace } = gatewayEnv(mock)
  const config = loadConfig(env, dir)
  const h: Harness = {
    driver: new CodexDriver(config, env, { clientName: 'agent_gateway_test' }),
    workspace,
    req: { cwd: workspace, model: testModel },
    asks: [],
    decision: 'decline',
    hooks: {
      requestApproval: async (ask) => {
        h.asks.push(ask)
        return h.decision
      },
    },
    env,
    dir,
  }
  return h
}

async function collect(session: AgentSession, text: string, signal = new AbortController().signal) {
  const events: AgentEvent[] = []
  for await (const ev of session.turn([{ type: 'text', text }], signal)) events.push(ev)
  return events
}

const body = (r: RecordedRequest | undefined) => JSON.stringify(r?.body ?? null)

const lastOf = (events: AgentEvent[]) => events.at(-1)!
const messages = (events: AgentEvent[]) =>
  events.flatMap((e) => (e.type === 'item.completed' && e.item.type === 'agent_message' ? [e.item.text] : []))

/**
 * How soon an interrupted, aborted or killed turn must end: far below the 20 s its model answer takes (what a
 * turn that was not stopped would wait for), and above what the way back takes on a loaded 2-core machine.
 */
const promptlyMs = 8000

/** Every turn: valid events, turn.started first (with codex's turn id), one end event, last. */
function expectWellFormed(events: AgentEvent[]) {
  for (const ev of events) expect(agentEvent.safeParse(ev).success, JSON.stringify(ev)).toBe(true)
  expect(events[0]?.type).toBe('turn.started')
  const ends = events.filter((e) => e.type === 'turn.completed' || e.type === 'turn.failed')
  expect(ends).toHaveLength(1)
  expect(lastOf(events)).toBe(ends[0])
}

describe('codex session driver', () => {
  let mock: MockLlm
  let h: Harness
  const extra: CodexDriver[] = []
  /** The driver (one app-server) of the tests that kill, close, restart or patch none: see `sharedHarness`. */
  let shared: Harness | undefined
  cleanUpFakeAgentSessions()

  beforeAll(async () => {
    mock = await startMockLlm()
  })
  afterAll(async () => {
    await shared?.driver.close()
    if (shared) expect(await waitUntilGone(() => processesUnder(shared!.dir))).toEqual([])
    await mock?.close()
  })
  afterEach(async () => {
    if (h?.driver !== shared?.driver) await h?.driver.close()
    for (const d of extra.splice(0)) await d.close()
    expect(await waitUntilGone(() => processesUnder(h.workspace))).toEqual([])
    mock.reset()
  })

  /**
   * A test's own workspace, hooks and sessions on the driver the file's tests share that kill, close, restart or
   * patch no app-server (its sessions are left open, as each test's were till its driver closed): an app-server's
   * start was most of such a test's CPU. Closed, with no process left in its dir, after the file.
   */
  function sharedHarness(): Harness {
    shared ??= harness(mock)
    const workspace = tempDir('codex-shared-ws-')
    const own: Harness = {
      ...shared,
      workspace,
      req: { ...shared.req, cwd: workspace },
      asks: [],
      decision: 'decline',
      hooks: {
        requestApproval: async (ask) => {
          own.asks.push(ask)
          return own.decision
        },
      },
    }
    return own
  }

  /** A turn (policy untrusted) whose one command, writing approved.txt, the hook answers `decision`. */
  async function approvalTurn(decision: ApprovalDecision, answer: string): Promise<AgentEvent[]> {
    h = sharedHarness()
    h.decision = decision
    mock.script({ kind: 'exec_command', cmd: 'echo hi > approved.txt' }, { kind: 'text', text: answer })
    const session = await h.driver.openSession(
      { ...h.req, approvalPolicy: 'untrusted', sandbox: 'workspace-write' },
      h.hooks,
    )
    const events = await collect(session, 'write the file')
    expectWellFormed(events)
    expect(h.asks).toHaveLength(1)
    return events
  }

  it('three turns in one session: the third model request carries the whole history', async () => {
    h = sharedHarness()
    mock.script(
      { kind: 'text', text: 'answer one' },
      { kind: 'text', text: 'answer two', deltas: true },
      { kind: 'text', text: 'answer three' },
    )
    const session = await h.driver.openSession(h.req, h.hooks)
    expect(session.agentSessionId).toMatch(/^[0-9a-f-]{36}$/)

    const turns = [
      await collect(session, 'prompt one'),
      await collect(session, 'prompt two'),
      await collect(session, 'prompt three'),
    ]
    for (const [i, events] of turns.entries()) {
      expectWellFormed(events)
      expect(events[0]).toEqual({ type: 'turn.started', turnId: expect.any(String) })
      expect(lastOf(events)).toMatchObject({ type: 'turn.completed', status: 'completed' })
      expect(messages(events)).toEqual([['answer one', 'answer two', 'answer three'][i]])
    }
    const done = lastOf(turns[0]!)
    expect(done.type === 'turn.completed' && done.usage?.outputTokens).toBeGreaterThan(0)
    expect(turns[1]!.filter((e) => e.type === 'item.delta').length).toBeGreaterThan(1)
    expect(new Set(turns.map((t) => (t[0]?.type === 'turn.started' ? t[0].turnId : null))).size).toBe(3)
    // codex's thread status is opted out of (the manager owns the session's state): the driver reports none
    expect(turns.flat().filter((e) => e.type === 'session.status')).toEqual([])

    expect(mock.requests).toHaveLength(3)
    const third = body(mock.requests[2])
    for (const text of ['prompt one', 'answer one', 'prompt two', 'answer two', 'prompt three'])
      expect(third).toContain(text)
    expect(body(mock.requests[0])).not.toContain('prompt two')
  })

  it("the model's plan (update_plan) is one todo_list item: started, updated only when it changed, completed", async () => {
    h = harness(mock)
    enablePlanTool(h.env.CODEX_HOME!)
    // codex states its plan again unchanged: that one sends nothing
    mock.script(
      { kind: 'update_plan', plan: twoStepPlan('in_progress') },
      { kind: 'update_plan', plan: twoStepPlan('in_progress'), explanation: 'same plan' },
      { kind: 'update_plan', plan: twoStepPlan('completed') },
      { kind: 'text', text: 'planned' },
    )
    const session = await h.driver.openSession(h.req, h.hooks)
    const events = await collect(session, 'make a plan')
    expectWellFormed(events)
    const plans = events.flatMap((e) =>
      (e.type === 'item.started' || e.type === 'item.updated' || e.type === 'item.completed') &&
      e.item.type === 'todo_list'
        ? [{ type: e.type, items: e.item.items }]
        : [],
    )
    const steps = (done: boolean) => [
      { text: 'read the code', completed: done },
      { text: 'write the fix', completed: false },
    ]
    expect(plans).toEqual([
      { type: 'item.started', items: steps(false) },
      { type: 'item.updated', items: steps(true) },
      { type: 'item.completed', items: steps(true) },
    ])
    expect(messages(events)).toEqual(['planned'])
  })

  it('approval accepted: the hook gets the command, codex runs it', async () => {
    const events = await approvalTurn('accept', 'wrote it')
    expect(h.asks[0]).toMatchObject({ kind: 'command', cwd: h.workspace, itemId: expect.any(String) })
    expect(h.asks[0]!.command).toContain('echo hi > approved.txt')
    expect(h.asks[0]!.options).toEqual(expect.arrayContaining(['accept', 'decline', 'cancel']))
    expect(existsSync(path.join(h.workspace, 'approved.txt'))).toBe(true)
    const command = events.find((e) => e.type === 'item.completed' && e.item.type === 'command_execution')
    expect(command).toMatchObject({ item: { status: 'completed', exitCode: 0 } })
    expect(lastOf(events)).toMatchObject({ type: 'turn.completed', status: 'completed' })
    expect(messages(events)).toEqual(['wrote it'])
  })

  it('approval declined: nothing runs, the item is declined, the turn still completes', async () => {
    const events = await approvalTurn('decline', 'did not')
    expect(existsSync(path.join(h.workspace, 'approved.txt'))).toBe(false)
    const command = events.find((e) => e.type === 'item.completed' && e.item.type === 'command_execution')
    expect(command?.type === 'item.completed' && command.item.type === 'command_execution').toBe(true)
    if (command?.type === 'item.completed' && command.item.type === 'command_execution')
      expect(['declined', 'failed']).toContain(command.item.status)
    expect(lastOf(events)).toMatchObject({ type: 'turn.completed', status: 'completed' })
  })

  it('a file change asks with its changes; accepted, the patch is applied', async () => {
    h = sharedHarness()
    h.decision = 'accept'
    mock.script(
      { kind: 'apply_patch', patch: '*** Begin Patch\n*** Add File: patched.txt\n+hello\n*** End Patch\n' },
      { kind: 'text', text: 'patched' },
    )
    const session = await h.driver.openSession(
      { ...h.req, approvalPolicy: 'untrusted', sandbox: 'read-only' },
      h.hooks,
    )
    const events = await collect(session, 'add a file')
    expectWellFormed(events)
    expect(h.asks).toEqual([
      expect.objectContaining({
        kind: 'file_change',
        changes: [{ path: path.join(h.workspace, 'patched.txt'), kind: 'add', diff: '+hello' }],
        options: ['accept', 'accept_for_session', 'decline', 'cancel'],
      }),
    ])
    expect(existsSync(path.join(h.workspace, 'patched.txt'))).toBe(true)
    const change = events.find((e) => e.type === 'item.completed' && e.item.type === 'file_change')
    expect(change).toMatchObject({
      item: { status: 'completed', changes: [{ kind: 'add', diff: '+hello' }] },
    })
  })

  it('aborting the signal interrupts a slow turn long before its answer; the next turn works', async () => {
    h = sharedHarness()
    const slow = whenAsked({ kind: 'text', text: 'too late', delayMs: 20_000 })
    mock.script(slow.step, { kind: 'text', text: 'back again' })
    const session = await h.driver.openSession(h.req, h.hooks)
    const controller = new AbortController()
    let abortedAt = 0
    void slow.asked.then(() => {
      abortedAt = Date.now()
      controller.abort('cancelled')
    })
    const events = await collect(session, 'take your time', controller.signal)
    const took = Date.now() - abortedAt
    expectWellFormed(events)
    expect(lastOf(events)).toMatchObject({ type: 'turn.completed', status: 'interrupted' })
    expect(took).toBeLessThan(promptlyMs)

    const next = await collect(session, 'are you there')
    expectWellFormed(next)
    expect(lastOf(next)).toMatchObject({ type: 'turn.completed', status: 'completed' })
    expect(messages(next)).toEqual(['back again'])

    // aborted before it started: codex never sees the turn
    const requests = mock.requests.length
    const early = await collect(session, 'never mind', AbortSignal.abort('cancelled'))
    expect(early).toEqual([
      { type: 'turn.started' },
      { type: 'turn.completed', status: 'interrupted', usage: null },
    ])
    expect(mock.requests.length).toBe(requests)
  })

  it('an interrupted turn leaves no command behind, even one codex moved to a background terminal', async () => {
    h = sharedHarness()
    // the command outlives its 300 ms yield: codex tells the model it still runs and asks it what next
    mock.script(
      { kind: 'exec_command', cmd: 'sleep 41', yieldTimeMs: 300 },
      { kind: 'text', text: 'still waiting', delayMs: 20_000 },
    )
    const session = await h.driver.openSession({ ...h.req, sandbox: 'danger-full-access' }, h.hooks)
    const controller = new AbortController()
    const sleeping = () => processesUnder(h.workspace).filter((p) => p.cmd.includes('sleep 41'))
    const turn = collect(session, 'sleep in the background', controller.signal)
    await waitFor(() => mock.requests.length === 2 && sleeping().length > 0)
    controller.abort('cancelled')
    const events = await turn
    expect(lastOf(events)).toMatchObject({ type: 'turn.completed', status: 'interrupted' })
    // ended with the turn (codex's clean signals it; the exit follows within moments), not 41 s later
    expect(await waitUntilGone(sleeping)).toEqual([])
  })

  it('a steer that reaches codex after its turn ended: 409 (no turn runs), not 400', async () => {
    h = harness(mock)
    const first = held({ kind: 'text', text: 'done before the steer' })
    mock.script(first.step)
    const session = await h.driver.openSession(h.req, h.hooks)
    const turn = collect(session, 'quick task')
    await first.asked
    // the steer leaves while the turn runs; codex ends the turn before it gets there (found by
    // bench/session-lifecycle-stress.ts, where this happens by timing)
    const host = (session as unknown as { host: { request: (...args: unknown[]) => Promise<unknown> } }).host
    const request = host.request
    host.request = async (...args) => {
      if (args[0] === 'turn/steer') {
        first.release()
        await turn
      }
      return request.apply(host, args)
    }
    try {
      const refused = await session.steer([{ type: 'text', text: 'too late' }]).catch((e: unknown) => e)
      expect(refused).toMatchObject({ code: 'conflict', message: 'no turn is running in this session' })
    } finally {
      host.request = request
    }
    expect(lastOf(await turn)).toMatchObject({ type: 'turn.completed', status: 'completed' })
  })

  it('a steer codex refuses after the gateway recorded it (the turn ended meanwhile) is the next turn, once; one it accepted and dropped at an interrupt is withdrawn', async () => {
    h = harness(mock)
    const first = held({ kind: 'text', text: 'done before the steer' })
    mock.script(first.step, { kind: 'text', text: 'the steer as a turn' })
    const session = await h.driver.openSession(h.req, h.hooks)
    const { store, sessions } = await sessionsOnFakeAgent({
      dirPrefix: 'codex-steer-refused-',
      makeStore: (file) => new SqliteStore(file),
      open: () => session,
      resume: () => session,
    })
    // the steer is recorded and on its way; codex ends the turn before the steer gets to it, and answers "no active
    // turn" (found by bench/session-lifecycle-stress.ts, by timing)
    const listener = session as unknown as { notification(method: string, params: unknown): void }
    const notification = listener.notification.bind(session)
    let codexEnded!: () => void
    const codexTurnEnded = new Promise<void>((resolve) => (codexEnded = resolve))
    listener.notification = (method, params) => {
      notification(method, params)
      if (method === 'turn/completed') codexEnded()
    }
    const host = (session as unknown as { host: { request: (...args: unknown[]) => Promise<unknown> } }).host
    const request = host.request
    host.request = async (...args) => {
      if (args[0] === 'turn/steer') {
        first.release()
        await codexTurnEnded
      }
      return request.apply(host, args)
    }
    try {
      const firstId = (await sessions.startTurn('ses_a', [{ type: 'text', text: 'quick task' }])).id
      await first.asked
      const next = await sessions.startTurn('ses_a', [{ type: 'text', text: 'too late words' }], 'steer')
      expect(next.id).not.toBe(firstId)
      expect(await sessions.waitTurn(next.id)).toMatchObject({
        status: 'completed',
        finalResponse: 'the steer as a turn',
      })
      await sessions.idle()
      // in the history once: the new turn's input, not the ended turn's `steered`
      const turns = await store.listTurns('ses_a')
      expect(turns.map((t) => [t.id, t.steered])).toEqual([
        [firstId, undefined],
        [next.id, undefined],
      ])
      const types = (await store.eventsAfter('ses_a', 0, 100))
        .map((ev) => ev.type)
        .filter((t) => t.startsWith('turn.'))
      // withdrawn before the ended turn's end is stored (that end waits for the steer's answer)
      expect(types).toEqual([
        'turn.started',
        'turn.steered',
        'turn.steer_refused',
        'turn.completed',
        'turn.started',
        'turn.completed',
      ])
      // and codex got it once, as the new turn
      expect(body(mock.requests.at(-1)).split('too late words')).toHaveLength(2)

      // A steer codex accepted and then dropped: its turn was interrupted before codex's next model request
      // (codex clears a pending steer at an interrupt). Before, the turn kept claiming it (`steered`, a
      // turn.steered alone) though the agent never had it; now it is withdrawn (turn.steer_failed) as the turn ends.
      host.request = request
      const third = held({ kind: 'text', text: 'never said' })
      mock.script(third.step, { kind: 'text', text: 'after the interrupt' })
      const since = (await store.eventsAfter('ses_a', 0, 100)).at(-1)!.seq
      const stopped = (await sessions.startTurn('ses_a', [{ type: 'text', text: 'long task' }])).id
      await third.asked
      const steered = await sessions.startTurn('ses_a', [{ type: 'text', text: 'dropped words' }], 'steer')
      expect(steered.id).toBe(stopped)
      // the held answer is let go only once the interrupt has ended the turn: let go before, codex may read it
      // first, take the steer into a next model request and only then stop (the steer used, not dropped)
      expect(await sessions.interrupt('ses_a')).toMatchObject({ status: 'interrupted' })
      third.release()
      expect((await store.getTurn(stopped))?.steered).toBeUndefined()
      const dropped = (await store.eventsAfter('ses_a', since, 100)).filter((ev) =>
        ev.type.startsWith('turn.'),
      )
      expect(dropped.map((ev) => ev.type)).toEqual([
        'turn.started',
        'turn.steered',
        'turn.steer_failed',
        'turn.completed',
      ])
      expect(dropped[2]).toMatchObject({
        turnId: stopped,
        steeredSeq: dropped[1]!.seq,
        error: 'the turn ended (interrupted) before the agent took the steered input',
      })
      // codex never had it: its next turn's model request does not carry it either
      const after = await sessions.startTurn('ses_a', [{ type: 'text', text: 'go on' }])
      expect(await sessions.waitTurn(after.id)).toMatchObject({ finalResponse: 'after the interrupt' })
      expect(mock.requests.some((r) => body(r).includes('dropped words'))).toBe(false)
    } finally {
      host.request = request
      await sessions.closeAll()
    }
  })

  it('a steer whose app-server dies on its way is withdrawn (turn.steer_failed); the client is told it went nowhere', async () => {
    h = harness(mock)
    const first = held({ kind: 'text', text: 'never sent' })
    mock.script(first.step)
    const session = await h.driver.openSession(h.req, h.hooks)
    const { store, sessions } = await sessionsOnFakeAgent({
      dirPrefix: 'codex-steer-failed-',
      makeStore: (file) => new SqliteStore(file),
      open: () => session,
      resume: () => session,
    })
    // the steer is recorded and on its way when codex's app-server dies: it never gets it
    const pid = h.driver.appServerPid!
    const host = (session as unknown as { host: { request: (...args: unknown[]) => Promise<unknown> } }).host
    const request = host.request
    host.request = async (...args) => {
      const sent = request.apply(host, args)
      if (args[0] === 'turn/steer') process.kill(pid, 'SIGKILL')
      return sent
    }
    try {
      const firstId = (await sessions.startTurn('ses_a', [{ type: 'text', text: 'long task' }])).id
      await first.asked
      const failed = await sessions
        .startTurn('ses_a', [{ type: 'text', text: 'lost words' }], 'steer')
        .catch((e: unknown) => e)
      expect(failed).toMatchObject({ code: 'agent_failed', status: 500, details: { turnId: firstId } })
      expect((failed as Error).message).toMatch(
        /^the steer did not reach the agent: .*codex app-server.*; it was withdrawn \(turn\.steer_failed\): the input is in no turn, send it again$/s,
      )
      // the running turn fails with its app-server; its `steered` does not claim the input
      expect(await sessions.waitTurn(firstId)).toMatchObject({ status: 'failed' })
      await sessions.idle()
      expect((await store.getTurn(firstId))?.steered).toBeUndefined()
      const events = (await store.eventsAfter('ses_a', 0, 100)).filter((ev) => ev.type.startsWith('turn.'))
      const types = events.map((ev) => ev.type)
      // the steer's failure and the turn's are told as each is found, in either order
      expect(types.slice(0, 2)).toEqual(['turn.started', 'turn.steered'])
      expect(types.slice(2).sort()).toEqual(['turn.failed', 'turn.steer_failed'])
      expect(events.find((ev) => ev.type === 'turn.steer_failed')).toMatchObject({
        turnId: firstId,
        steeredSeq: events[1]!.seq,
        error: expect.stringMatching(/codex app-server/),
      })
    } finally {
      host.request = request
      first.release()
      await sessions.closeAll()
    }
  })

  /**
   * A steer whose answer the gateway stopped waiting for (RpcTimeoutError, as CODEX_REQUEST_TIMEOUT gives it):
   * `delivered` says whether codex got it. The first model answer is held until the steer is on its way.
   */
  async function steerTimedOut(delivered: boolean) {
    h = harness(mock)
    const first = held({ kind: 'text', text: 'first part' })
    mock.script(first.step, { kind: 'text', text: 'after steer' })
    const session = await h.driver.openSession(h.req, h.hooks)
    const { store, sessions } = await sessionsOnFakeAgent({
      dirPrefix: 'codex-steer-timeout-',
      makeStore: (file) => new SqliteStore(file),
      open: () => session,
      resume: () => session,
    })
    const host = (session as unknown as { host: { request: (...args: unknown[]) => Promise<unknown> } }).host
    const request = host.request
    let steerSent!: () => void
    const onItsWay = new Promise<void>((resolve) => (steerSent = resolve))
    host.request = async (...args) => {
      if (args[0] !== 'turn/steer') return request.apply(host, args)
      if (delivered) await request.apply(host, args)
      steerSent()
      throw new RpcTimeoutError('turn/steer', 1, 'codex app-server')
    }
    try {
      const firstId = (await sessions.startTurn('ses_a', [{ type: 'text', text: 'long task' }])).id
      await first.asked
      const steer = sessions
        .startTurn('ses_a', [{ type: 'text', text: 'steered words' }], 'steer')
        .catch((e) => e)
      await onItsWay
      first.release()
      const answer = await steer
      await sessions.waitTurn(firstId)
      await sessions.idle()
      const types = (await store.eventsAfter('ses_a', 0, 100))
        .map((ev) => ev.type)
        .filter((t) => t.startsWith('turn.'))
      return { answer, firstId, turn: await store.getTurn(firstId), types }
    } finally {
      host.request = request
      first.release()
      await sessions.closeAll()
    }
  }

  it('a steer that timed out and reached codex is kept: its message showed in the turn (clientUserMessageId)', async () => {
    const { answer, firstId, turn, types } = await steerTimedOut(true)
    // before: withdrawn (turn.steer_failed, 500 agent_failed) though codex had applied it
    expect(answer).toMatchObject({ id: firstId })
    expect(turn).toMatchObject({ status: 'completed', steered: [[{ type: 'text', text: 'steered words' }]] })
    expect(types).toEqual(['turn.started', 'turn.steered', 'turn.completed'])
    expect(mock.requests.some((r) => body(r).includes('steered words'))).toBe(true)
  })

  it('a steer that timed out and never reached codex is withdrawn once the turn ended without it', async () => {
    const { answer, firstId, turn, types } = await steerTimedOut(false)
    expect(answer).toMatchObject({ code: 'agent_failed', details: { turnId: firstId } })
    expect(turn?.steered).toBeUndefined()
    expect(types).toEqual(['turn.started', 'turn.steered', 'turn.steer_failed', 'turn.completed'])
    expect(mock.requests.some((r) => body(r).includes('steered words'))).toBe(false)
  })

  it('steer adds input to the running turn; interrupt() right after the start ends it', async () => {
    h = sharedHarness()
    // the first answer is held until the steer is in: the turn certainly runs, and codex asks again after it
    const first = held({ kind: 'text', text: 'first part' })
    mock.script(first.step, { kind: 'text', text: 'after steer' })
    const session = await h.driver.openSession(h.req, h.hooks)
    await expect(session.steer([{ type: 'text', text: 'nothing runs' }])).rejects.toThrow(/no turn/)
    const steering = first.asked
      .then(() => session.steer([{ type: 'text', text: 'steered words' }]))
      .finally(() => first.release())
    const steered = await collect(session, 'long task')
    await steering
    expectWellFormed(steered)
    expect(lastOf(steered)).toMatchObject({ type: 'turn.completed', status: 'completed' })
    expect(messages(steered)).toContain('after steer')
    expect(mock.requests.some((r) => body(r).includes('steered words'))).toBe(true)

    // codex refuses turn/interrupt until it reported turn/started; the driver waits for that
    mock.script({ kind: 'text', text: 'slow', delayMs: 20_000 })
    const events: AgentEvent[] = []
    let interruptedAt = 0
    for await (const ev of session.turn([{ type: 'text', text: 'slow one' }], new AbortController().signal)) {
      events.push(ev)
      if (ev.type === 'turn.started') {
        interruptedAt = Date.now()
        void session.interrupt()
      }
    }
    expectWellFormed(events)
    expect(lastOf(events)).toMatchObject({ type: 'turn.completed', status: 'interrupted' })
    expect(Date.now() - interruptedAt).toBeLessThan(promptlyMs)
  })

  it('closing a session interrupts its turn; the thread can be resumed', async () => {
    h = sharedHarness()
    // by prompt: the interrupt may come before codex asked the model anything
    mock.on('closing soon', { kind: 'text', text: 'slow', delayMs: 20_000 })
    mock.on('still there', { kind: 'text', text: 'resumed fine' })
    const session = await h.driver.openSession(h.req, h.hooks)
    const events: AgentEvent[] = []
    let closing: Promise<void> | undefined
    for await (const ev of session.turn(
      [{ type: 'text', text: 'closing soon' }],
      new AbortController().signal,
    )) {
      events.push(ev)
      if (ev.type === 'turn.started') closing = session.close()
    }
    await closing
    expectWellFormed(events)
    expect(lastOf(events)).toMatchObject({ type: 'turn.completed', status: 'interrupted' })
    expect(lastOf(await collect(session, 'closed?'))).toMatchObject({
      type: 'turn.failed',
      error: 'the session is closed',
    })
    const again = await h.driver.resumeSession(session.agentSessionId, h.req, h.hooks)
    expect(again).not.toBe(session)
    expect(messages(await collect(again, 'still there'))).toEqual(['resumed fine'])
  })

  it('fork: the fork continues from the parent history, the parent does not see the fork', async () => {
    h = sharedHarness()
    mock.on('parent prompt', { kind: 'text', text: 'parent answer' })
    mock.on('child prompt', { kind: 'text', text: 'child answer' })
    mock.on('parent again', { kind: 'text', text: 'parent second answer' })
    const parent = await h.driver.openSession(h.req, h.hooks)
    expectWellFormed(await collect(parent, 'parent prompt'))
    const child = await parent.fork()
    expect(child.agentSessionId).not.toBe(parent.agentSessionId)

    const childTurn = await collect(child, 'child prompt')
    expectWellFormed(childTurn)
    expect(messages(childTurn)).toEqual(['child answer'])
    const parentTurn = await collect(parent, 'parent again')
    expect(messages(parentTurn)).toEqual(['parent second answer'])

    const childRequest = mock.requests.find((r) => mock.lastUserText(r) === 'child prompt')
    expect(body(childRequest)).toContain('parent prompt')
    expect(body(childRequest)).toContain('parent answer')
    expect(childRequest?.body).toMatchObject({ model: testModel })
    const parentRequest = mock.requests.find((r) => mock.lastUserText(r) === 'parent again')
    expect(body(parentRequest)).toContain('parent answer')
    expect(body(parentRequest)).not.toContain('child prompt')
    expect(body(parentRequest)).not.toContain('child answer')
  })

  it('resume: a new driver (a restarted gateway) resumes the thread and its turn carries the history', async () => {
    h = harness(mock)
    mock.script({ kind: 'text', text: 'noted the banana' }, { kind: 'text', text: 'it was banana' })
    const first = await h.driver.openSession(h.req, h.hooks)
    expectWellFormed(await collect(first, 'remember the word banana'))
    await h.driver.close()
    expect(await waitUntilGone(() => processesUnder(h.workspace))).toEqual([])

    const restarted = new CodexDriver(loadConfig(h.env, h.dir), h.env)
    extra.push(restarted)
    const resumed = await restarted.resumeSession(first.agentSessionId, h.req, h.hooks)
    expect(resumed.agentSessionId).toBe(first.agentSessionId)
    const events = await collect(resumed, 'which word was it')
    expectWellFormed(events)
    expect(messages(events)).toEqual(['it was banana'])
    const request = body(mock.requests.at(-1))
    expect(request).toContain('remember the word banana')
    expect(request).toContain('noted the banana')
    await expect(
      restarted.resumeSession('00000000-0000-0000-0000-000000000000', h.req, h.hooks),
    ).rejects.toThrow(/thread\/resume failed/)
  })

  it('a killed app-server fails the running turn once; the next turn restarts it with the history', async () => {
    h = harness(mock)
    const doomed = whenAsked({ kind: 'text', text: 'never sent', delayMs: 20_000 })
    mock.script({ kind: 'text', text: 'first answer before the kill' }, doomed.step, {
      kind: 'text',
      text: 'alive again',
    })
    const exits: number[] = []
    h.driver.onAppServerExit((_error, generation) => exits.push(generation))
    const session = await h.driver.openSession(h.req, h.hooks)
    expectWellFormed(await collect(session, 'first prompt before the kill'))
    const firstPid = h.driver.appServerPid!

    let killedAt = 0
    void doomed.asked.then(() => {
      killedAt = Date.now()
      process.kill(firstPid, 'SIGKILL')
    })
    const events = await collect(session, 'doomed prompt')
    expectWellFormed(events)
    expect(Date.now() - killedAt).toBeLessThan(promptlyMs)
    const failed = lastOf(events)
    expect(failed.type).toBe('turn.failed')
    expect(failed.type === 'turn.failed' && failed.error).toMatch(/codex app-server.*killed by SIGKILL/)
    expect(exits).toEqual([1])

    const next = await collect(session, 'still there')
    expectWellFormed(next)
    expect(lastOf(next)).toMatchObject({ type: 'turn.completed', status: 'completed' })
    expect(messages(next)).toEqual(['alive again'])
    expect(h.driver.appServerPid).not.toBe(firstPid)
    const request = body(mock.requests.at(-1))
    expect(request).toContain('first prompt before the kill')
    expect(request).toContain('first answer before the kill')
  })

  it('passes calls through and lists models; one-shot runs go to codex exec under its own id', async () => {
    h = harness(mock)
    expect((await h.driver.probe()).id).toBe('codex')
    const skills = (await h.driver.call('skills/list', {})) as { data?: unknown }
    expect(Array.isArray(skills.data)).toBe(true)
    const models = await h.driver.listModels()
    expect(models.length).toBeGreaterThan(0)
    for (const m of models) expect(typeof m).toBe('string')

    // (a real `codex exec` run is codex-exec-driver.test.ts's business; here: delegated and relabelled)
    const { env, dir } = gatewayEnv(mock, { CODEX_PATH: '/nonexistent/codex' })
    const missing = new CodexDriver(loadConfig(env, dir), env)
    extra.push(missing)
    expect(await missing.probe()).toMatchObject({ id: 'codex', installed: false })
    const run: AgentEvent[] = []
    for await (const ev of missing.run({ prompt: 'once', cwd: h.workspace }, new AbortController().signal))
      run.push(ev)
    expect(run).toEqual([
      { type: 'run.started', agent: 'codex' },
      expect.objectContaining({ type: 'run.completed', status: 'failed', reason: 'spawn_failed' }),
    ])
    await expect(missing.openSession(h.req, h.hooks)).rejects.toMatchObject({ code: 'agent_not_installed' })
  })

  it('closing the driver fails a running turn and ends the app-server', async () => {
    h = harness(mock)
    const slow = whenAsked({ kind: 'text', text: 'slow', delayMs: 20_000 })
    mock.script(slow.step)
    const session = await h.driver.openSession(h.req, h.hooks)
    void slow.asked.then(() => h.driver.close())
    const events = await collect(session, 'before shutdown')
    expectWellFormed(events)
    expect(lastOf(events)).toMatchObject({ type: 'turn.failed', error: expect.stringMatching(/was closed/) })
    await expect(h.driver.openSession(h.req, h.hooks)).rejects.toThrow(/closed/)
  })
})
