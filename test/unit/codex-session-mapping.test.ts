import { describe, expect, it, vi } from 'vitest'
import { parseApproval } from '../../src/agents/codex-app-server/approvals.js'
import { mapThreadItem } from '../../src/agents/codex-app-server/item-mapping.js'
import { askForApproval, threadParams } from '../../src/agents/codex-app-server/thread-settings.js'
import { TurnEventMapper } from '../../src/agents/codex-app-server/turn-mapper.js'
import { TurnRun } from '../../src/agents/codex-app-server/turn-run.js'
import { type AgentEvent, agentEvent } from '../../src/protocol/events.js'

// Notification -> event mapping of the codex session driver, with notifications recorded from the pinned
// codex 0.169 app-server against the mock model (ids and paths shortened). No process runs here.

type Recorded = [method: string, params: Record<string, unknown>]

const usage = (total: number[], last: number[]) => {
  const breakdown = ([input, cached, output, reasoning]: number[]) => ({
    totalTokens: input! + output!,
    inputTokens: input,
    cachedInputTokens: cached,
    cacheWriteInputTokens: 0,
    outputTokens: output,
    reasoningOutputTokens: reasoning,
  })
  return { total: breakdown(total), last: breakdown(last), modelContextWindow: 258400 }
}

const turnObject = (status: string, error: unknown = null) => ({
  id: 'turn_1',
  rootTurnId: 'turn_1',
  items: [],
  itemsView: status === 'inProgress' ? 'notLoaded' : 'summary',
  status,
  error,
  startedAt: 1795268090,
  completedAt: status === 'inProgress' ? null : 1795268091,
  durationMs: status === 'inProgress' ? null : 282,
})

const commandItem = (status: string, exitCode: number | null, output: string | null) => ({
  type: 'commandExecution',
  id: 'call_3',
  pluginId: null,
  scriptPath: null,
  command: "/bin/bash -lc 'echo hi > approved.txt'",
  cwd: '/ws',
  processId: status === 'inProgress' ? null : '15517',
  source: 'agent',
  status,
  commandActions: [{ type: 'unknown', command: 'echo hi > approved.txt' }],
  aggregatedOutput: output,
  exitCode,
  durationMs: status === 'inProgress' ? null : 0,
  startedAtMs: 1795268090959,
  completedAtMs: status === 'inProgress' ? null : 1795268091105,
})

const userMessage = {
  type: 'userMessage',
  id: 'um_1',
  clientId: null,
  content: [{ type: 'text', text: 'write the file', text_elements: [] }],
  startedAtMs: 1795268090909,
  completedAtMs: 1795268090909,
}

const agentMessage = (text: string) => ({
  type: 'agentMessage',
  moderation: null,
  id: 'msg_5',
  text,
  phase: null,
  memoryCitation: null,
  delivery: null,
  questions: null,
  startedAtMs: 1795268091135,
  completedAtMs: 1795268091135,
})

const ref = { threadId: 'thr_1', turnId: 'turn_1' }

/** One turn with an approved command, as codex 0.169 reported it (approvalPolicy untrusted). */
const approvedCommandTurn: Recorded[] = [
  ['thread/status/changed', { threadId: 'thr_1', status: { type: 'active', activeFlags: [] } }],
  ['turn/started', { threadId: 'thr_1', turn: turnObject('inProgress') }],
  ['item/started', { item: userMessage, ...ref, startedAtMs: 1795268090909 }],
  ['item/completed', { item: userMessage, ...ref, contentTokenCount: null, completedAtMs: 1795268090909 }],
  [
    'thread/status/changed',
    { threadId: 'thr_1', status: { type: 'active', activeFlags: ['waitingOnApproval'] } },
  ],
  ['item/started', { item: commandItem('inProgress', null, null), ...ref, startedAtMs: 1795268090959 }],
  ['serverRequest/resolved', { threadId: 'thr_1', requestId: 0 }],
  ['thread/status/changed', { threadId: 'thr_1', status: { type: 'active', activeFlags: [] } }],
  [
    'item/completed',
    {
      item: commandItem('completed', 0, 'hi\n'),
      ...ref,
      contentTokenCount: null,
      completedAtMs: 1795268091105,
    },
  ],
  ['thread/tokenUsage/updated', { ...ref, tokenUsage: usage([9740, 0, 38, 0], [9740, 0, 38, 0]) }],
  ['item/started', { item: agentMessage(''), ...ref, startedAtMs: 1795268091135 }],
  ['item/agentMessage/delta', { ...ref, itemId: 'msg_5', delta: 'done ' }],
  ['item/agentMessage/delta', { ...ref, itemId: 'msg_5', delta: 'it' }],
  [
    'item/completed',
    { item: agentMessage('done it'), ...ref, contentTokenCount: null, completedAtMs: 1795268091135 },
  ],
  ['thread/tokenUsage/updated', { ...ref, tokenUsage: usage([19587, 0, 73, 0], [9847, 0, 35, 0]) }],
  ['thread/status/changed', { threadId: 'thr_1', status: { type: 'idle' } }],
  [
    'turn/completed',
    { threadId: 'thr_1', turn: { ...turnObject('completed'), items: [agentMessage('done it')] } },
  ],
]

function mapAll(notifications: Recorded[], mapper = new TurnEventMapper()): AgentEvent[] {
  const events = mapper.begin('turn_1')
  for (const [method, params] of notifications) events.push(...mapper.map(method, params))
  return events
}

async function drain(run: TurnRun): Promise<AgentEvent[]> {
  const events: AgentEvent[] = []
  for await (const ev of run.events) events.push(ev)
  return events
}

describe('codex app-server turn mapping', () => {
  it('maps a recorded turn with an approved command to normalized events, in order', () => {
    const events = mapAll(approvedCommandTurn)
    for (const ev of events) expect(agentEvent.safeParse(ev).success).toBe(true)
    expect(
      events.map((e) =>
        e.type === 'agent.raw' ? `raw ${(e.payload as { method: string }).method}` : e.type,
      ),
    ).toEqual([
      'turn.started',
      'session.status',
      'raw item/started',
      'raw item/completed',
      'session.status',
      'item.started',
      'raw serverRequest/resolved',
      'session.status',
      'item.completed',
      'item.started',
      'item.delta',
      'item.delta',
      'item.completed',
      'session.status',
      'turn.completed',
    ])
    expect(events[0]).toEqual({ type: 'turn.started', turnId: 'turn_1' })
    expect(events.filter((e) => e.type === 'session.status').map((e) => e.status)).toEqual([
      'running',
      'waiting_for_approval',
      'running',
      'idle',
    ])
    expect(events[5]).toEqual({
      type: 'item.started',
      item: {
        id: 'call_3',
        type: 'command_execution',
        command: "/bin/bash -lc 'echo hi > approved.txt'",
        aggregatedOutput: '',
        exitCode: null,
        status: 'in_progress',
      },
    })
    expect(events[8]).toMatchObject({
      type: 'item.completed',
      item: { type: 'command_execution', aggregatedOutput: 'hi\n', exitCode: 0, status: 'completed' },
    })
    expect(events[10]).toEqual({ type: 'item.delta', itemId: 'msg_5', delta: 'done ' })
    expect(events[12]).toEqual({
      type: 'item.completed',
      item: { id: 'msg_5', type: 'agent_message', text: 'done it' },
    })
    // both model requests of the turn count: the thread's total minus what it had before the turn
    expect(events.at(-1)).toEqual({
      type: 'turn.completed',
      turnId: 'turn_1',
      status: 'completed',
      usage: { inputTokens: 19587, cachedInputTokens: 0, outputTokens: 73, reasoningOutputTokens: 0 },
    })
  })

  it('counts only this turn in usage when the thread already had tokens', () => {
    const mapper = new TurnEventMapper()
    mapper.begin('turn_1')
    mapper.map('thread/tokenUsage/updated', {
      ...ref,
      tokenUsage: usage([1100, 50, 30, 5], [100, 10, 10, 5]),
    })
    mapper.map('thread/tokenUsage/updated', {
      ...ref,
      tokenUsage: usage([1300, 60, 50, 5], [200, 10, 20, 0]),
    })
    expect(mapper.usage()).toEqual({
      inputTokens: 300,
      cachedInputTokens: 20,
      outputTokens: 30,
      reasoningOutputTokens: 5,
    })
  })

  it('a failed turn ends with turn.failed carrying codex error message; an interrupted one says so', () => {
    const failed = mapAll([
      [
        'turn/completed',
        {
          threadId: 'thr_1',
          turn: turnObject('failed', {
            message: 'unexpected status 500 Internal Server Error',
            codexErrorInfo: null,
            additionalDetails: null,
            misalignment: null,
          }),
        },
      ],
    ])
    expect(failed.at(-1)).toEqual({
      type: 'turn.failed',
      turnId: 'turn_1',
      error: 'unexpected status 500 Internal Server Error',
    })
    const interrupted = mapAll([['turn/completed', { threadId: 'thr_1', turn: turnObject('interrupted') }]])
    expect(interrupted.at(-1)).toEqual({
      type: 'turn.completed',
      turnId: 'turn_1',
      status: 'interrupted',
      usage: null,
    })
  })

  it('unknown, malformed and other-turn notifications become agent.raw, never an error', () => {
    const mapper = new TurnEventMapper()
    mapper.begin('turn_1')
    const odd: Recorded[] = [
      ['thread/goal/cleared', { threadId: 'thr_1' }],
      ['item/started', { ...ref, item: { type: 'agentMessage' } }],
      ['item/agentMessage/delta', { threadId: 'thr_1', turnId: 'turn_0', itemId: 'msg_1', delta: 'x' }],
      ['turn/completed', { threadId: 'thr_1', turn: { ...turnObject('completed'), id: 'turn_0' } }],
      ['thread/status/changed', { threadId: 'thr_1', status: { type: 'systemError' } }],
      ['item/completed', { ...ref, item: { type: 'someFutureItem', id: 'x1', stuff: [1, 2] } }],
    ]
    for (const [method, params] of odd)
      expect(mapper.map(method, params)).toEqual([
        { type: 'agent.raw', agent: 'codex', payload: { method, params } },
      ])
    expect(mapper.done).toBe(false)
    // a turn/completed that cannot be read still ends the turn (never hangs)
    const ended = mapper.map('turn/completed', { threadId: 'thr_1', turn: 'garbage' })
    expect(ended.map((e) => e.type)).toEqual(['agent.raw', 'turn.failed'])
    expect(mapper.done).toBe(true)
  })

  it('maps plan updates to one todo_list item, sending only its changes, and codex errors to error items', () => {
    const plan = (statuses: string[]) => ({
      ...ref,
      explanation: null,
      plan: statuses.map((status, i) => ({ step: `step ${i + 1}`, status })),
    })
    const events = mapAll([
      ['turn/plan/updated', plan(['inProgress', 'pending'])],
      // the same plan again (codex repeats it), and one whose only change the item does not hold: nothing sent
      ['turn/plan/updated', plan(['inProgress', 'pending'])],
      ['turn/plan/updated', plan(['pending', 'inProgress'])],
      ['turn/plan/updated', plan(['completed', 'inProgress'])],
      ['turn/plan/updated', plan(['completed', 'inProgress'])],
      [
        'error',
        {
          ...ref,
          willRetry: true,
          error: { message: 'stream disconnected', codexErrorInfo: null, additionalDetails: null },
        },
      ],
      ['turn/completed', { threadId: 'thr_1', turn: turnObject('completed') }],
    ])
    expect(events.map((e) => e.type)).toEqual([
      'turn.started',
      'item.started',
      'item.updated',
      'item.completed',
      'item.completed',
      'turn.completed',
    ])
    expect(events[2]).toEqual({
      type: 'item.updated',
      item: {
        id: 'turn_1:plan',
        type: 'todo_list',
        items: [
          { text: 'step 1', completed: true },
          { text: 'step 2', completed: false },
        ],
      },
    })
    expect(events[3]).toMatchObject({
      item: { type: 'error', message: 'stream disconnected (codex retries)' },
    })
    expect(events[4]).toMatchObject({ item: { id: 'turn_1:plan', type: 'todo_list' } })
  })
})

describe('codex thread items', () => {
  it('maps every kind we know and returns null for the rest', () => {
    expect(
      mapThreadItem({
        type: 'fileChange',
        id: 'call_2',
        changes: [{ path: '/ws/new.txt', kind: { type: 'add' }, diff: 'hello\n' }],
        status: 'completed',
        startedAtMs: 1795268166268,
        completedAtMs: 1795268166307,
      }),
    ).toEqual({
      id: 'call_2',
      type: 'file_change',
      changes: [{ path: '/ws/new.txt', kind: 'add', diff: '+hello' }],
      status: 'completed',
    })
    expect(
      mapThreadItem({ type: 'reasoning', id: 'r1', summary: ['**Plan**', 'look'], content: ['raw'] }),
    ).toEqual({ id: 'r1', type: 'reasoning', text: '**Plan**\nlook' })
    expect(mapThreadItem({ type: 'reasoning', id: 'r2', summary: [], content: ['thinking'] })).toMatchObject({
      text: 'thinking',
    })
    expect(
      mapThreadItem({
        type: 'mcpToolCall',
        id: 't1',
        server: 'docs',
        tool: 'search',
        status: 'failed',
        arguments: { q: 'x' },
        appContext: null,
        mcpAppUi: null,
        pluginId: null,
        readOnlyHint: null,
        result: null,
        error: { message: 'timeout' },
        durationMs: 3,
      }),
    ).toEqual({
      id: 't1',
      type: 'tool_call',
      server: 'docs',
      tool: 'search',
      arguments: { q: 'x' },
      error: 'timeout',
      status: 'failed',
    })
    expect(
      mapThreadItem({ type: 'webSearch', id: 'w1', query: 'zod 4', action: null, results: null }),
    ).toEqual({ id: 'w1', type: 'web_search', query: 'zod 4' })
    expect(mapThreadItem({ type: 'plan', id: 'p1', text: '- [x] read\n- [ ] write\n\n3. test' })).toEqual({
      id: 'p1',
      type: 'todo_list',
      items: [
        { text: 'read', completed: true },
        { text: 'write', completed: false },
        { text: 'test', completed: false },
      ],
    })
    expect(mapThreadItem(userMessage)).toBeNull()
    expect(mapThreadItem({ type: 'contextCompaction', id: 'c1' })).toBeNull()
    expect(mapThreadItem({ type: 'commandExecution', id: 'c2', status: 'weird' })).toBeNull()
    expect(mapThreadItem('not an item')).toBeNull()
  })
})

describe('codex approval requests', () => {
  /** As codex 0.169 sent it for `echo hi > approved.txt` under approvalPolicy untrusted. */
  const commandRequest = {
    kind: 'command',
    threadId: 'thr_1',
    turnId: 'turn_1',
    itemId: 'call_3',
    startedAtMs: 1795268090959,
    environmentId: 'local',
    command: "/bin/bash -lc 'echo hi > approved.txt'",
    cwd: '/ws',
    commandActions: [{ type: 'unknown', command: 'echo hi > approved.txt' }],
    proposedExecpolicyAmendment: ['/bin/bash', '-lc', 'echo hi > approved.txt'],
    availableDecisions: [
      'accept',
      {
        acceptWithExecpolicyAmendment: {
          execpolicy_amendment: ['/bin/bash', '-lc', 'echo hi > approved.txt'],
        },
      },
      'cancel',
    ],
  }

  it('command: the ask, codex options in our names, and each decision on the wire', () => {
    const approval = parseApproval('item/commandExecution/requestApproval', commandRequest)!
    expect(approval.threadId).toBe('thr_1')
    expect(approval.ask).toEqual({
      kind: 'command',
      command: "/bin/bash -lc 'echo hi > approved.txt'",
      cwd: '/ws',
      reason: undefined,
      // codex's execpolicy amendment is an allow rule in CODEX_HOME for every later thread: never offered
      options: ['accept', 'decline', 'cancel'],
      turnId: 'turn_1',
      itemId: 'call_3',
    })
    expect(approval.answer('accept')).toEqual({ decision: 'accept' })
    expect(approval.answer('decline')).toEqual({ decision: 'decline' })
    expect(approval.answer('cancel')).toEqual({ decision: 'cancel' })

    const plain = parseApproval('item/commandExecution/requestApproval', {
      ...commandRequest,
      availableDecisions: undefined,
      reason: 'needs network',
    })!
    expect(plain.ask.options).toEqual(['accept', 'accept_for_session', 'decline', 'cancel'])
    expect(plain.ask.reason).toBe('needs network')
    expect(plain.answer('accept_for_session')).toEqual({ decision: 'acceptForSession' })
  })

  it('file change: the changes come from the turn item the request names', () => {
    const approval = parseApproval(
      'item/fileChange/requestApproval',
      { ...ref, itemId: 'call_2', startedAtMs: 1795268166270, reason: null, grantRoot: null },
      (id) =>
        id === 'call_2'
          ? {
              id,
              type: 'file_change',
              changes: [{ path: '/ws/new.txt', kind: 'add' }],
              status: 'in_progress',
            }
          : undefined,
    )!
    expect(approval.ask).toMatchObject({
      kind: 'file_change',
      changes: [{ path: '/ws/new.txt', kind: 'add' }],
      options: ['accept', 'accept_for_session', 'decline', 'cancel'],
      itemId: 'call_2',
    })
    expect(approval.answer('accept_for_session')).toEqual({ decision: 'acceptForSession' })
  })

  it('permissions: granted as asked for the turn or the session, nothing when declined', () => {
    const approval = parseApproval('item/permissions/requestApproval', {
      ...ref,
      itemId: 'perm_1',
      environmentId: null,
      startedAtMs: 1,
      cwd: '/ws',
      reason: 'install deps',
      permissions: { network: { enabled: true }, fileSystem: null },
    })!
    expect(approval.ask).toMatchObject({
      kind: 'permission',
      cwd: '/ws',
      reason: 'install deps; network access',
      options: ['accept', 'accept_for_session', 'decline'],
    })
    expect(approval.answer('accept')).toEqual({ permissions: { network: { enabled: true } }, scope: 'turn' })
    expect(approval.answer('accept_for_session')).toMatchObject({ scope: 'session' })
    expect(approval.answer('decline')).toEqual({ permissions: {}, scope: 'turn' })
  })

  it('legacy exec and patch approvals answer with ReviewDecision values', () => {
    const exec = parseApproval('execCommandApproval', {
      conversationId: 'thr_1',
      callId: 'c1',
      approvalId: null,
      command: ['bash', '-lc', "echo 'a b'"],
      cwd: '/ws',
      reason: null,
      parsedCmd: [],
    })!
    expect(exec.threadId).toBe('thr_1')
    expect(exec.ask).toMatchObject({
      kind: 'command',
      command: `bash -lc 'echo '\\''a b'\\'''`,
      itemId: 'c1',
    })
    expect(exec.answer('accept')).toEqual({ decision: 'approved' })
    expect(exec.answer('cancel')).toEqual({ decision: 'abort' })
    const patch = parseApproval('applyPatchApproval', {
      conversationId: 'thr_1',
      callId: 'c2',
      fileChanges: {
        '/ws/a.txt': { type: 'add', content: 'a' },
        '/ws/b.txt': { type: 'delete', content: '' },
      },
      reason: null,
      grantRoot: '/ws',
    })!
    expect(patch.ask).toMatchObject({
      kind: 'file_change',
      changes: [
        { path: '/ws/a.txt', kind: 'add' },
        { path: '/ws/b.txt', kind: 'delete' },
      ],
      reason: 'asks to write under /ws for the rest of the session',
    })
    expect(patch.answer('accept_for_session')).toEqual({ decision: 'approved_for_session' })
    expect(patch.answer('decline')).toMatchObject({ decision: { denied: expect.any(Object) } })
  })

  it('a malformed or unknown request gives null', () => {
    expect(parseApproval('item/commandExecution/requestApproval', { threadId: 'thr_1' })).toBeNull()
    expect(parseApproval('item/tool/requestUserInput', { ...ref })).toBeNull()
  })
})

describe('a running turn', () => {
  it('holds notifications until the turn id is known, so turn.started comes first', async () => {
    const run = new TurnRun()
    run.notify('thread/status/changed', { threadId: 'thr_1', status: { type: 'active', activeFlags: [] } })
    run.begin('turn_1')
    run.notify('turn/completed', { threadId: 'thr_1', turn: turnObject('completed') })
    const events = await drain(run)
    expect(events.map((e) => e.type)).toEqual(['turn.started', 'session.status', 'turn.completed'])
    expect(run.isFinished).toBe(true)
    expect(run.signal.aborted).toBe(true)
  })

  it('makes its signal only when asked: a turn that ends with nobody holding it aborts no signal', async () => {
    const abort = vi.spyOn(AbortController.prototype, 'abort')
    try {
      const run = new TurnRun()
      run.begin('turn_1')
      run.notify('turn/completed', { threadId: 'thr_1', turn: turnObject('completed') })
      expect(run.isFinished).toBe(true)
      expect(abort).not.toHaveBeenCalled()
      // asked for after the end: aborted already, with the same reason
      expect(run.signal.aborted).toBe(true)
      expect((run.signal.reason as Error).message).toBe('the turn ended')
    } finally {
      abort.mockRestore()
    }
  })

  it('a signal asked for while the turn runs is aborted once when it ends', () => {
    const run = new TurnRun()
    const signal = run.signal
    let aborted = 0
    signal.addEventListener('abort', () => aborted++)
    run.begin('turn_1')
    expect(signal.aborted).toBe(false)
    run.notify('turn/completed', { threadId: 'thr_1', turn: turnObject('completed') })
    run.fail('after the end')
    expect(aborted).toBe(1)
    expect(run.signal).toBe(signal)
    expect((signal.reason as Error).message).toBe('the turn ended')
  })

  it('takes the id from turn/started when it comes before the turn/start answer', async () => {
    const run = new TurnRun()
    for (const [method, params] of approvedCommandTurn.slice(0, 2)) run.notify(method, params)
    expect(run.turnId).toBe('turn_1')
    run.begin('turn_1')
    run.notify('turn/completed', { threadId: 'thr_1', turn: turnObject('interrupted') })
    const events = await drain(run)
    expect(events.map((e) => e.type)).toEqual(['turn.started', 'session.status', 'turn.completed'])
  })

  it('fail() ends it exactly once, with turn.started first even without an id', async () => {
    let ended = 0
    const run = new TurnRun({ end: () => ended++ })
    run.notify('thread/status/changed', { threadId: 'thr_1', status: { type: 'active', activeFlags: [] } })
    run.fail('codex app-server died during the turn: codex app-server was killed by SIGKILL')
    run.fail('again')
    run.interrupted()
    run.notify('turn/completed', { threadId: 'thr_1', turn: turnObject('completed') })
    const events = await drain(run)
    expect(events).toEqual([
      { type: 'turn.started' },
      {
        type: 'agent.raw',
        agent: 'codex',
        payload: {
          method: 'thread/status/changed',
          params: { threadId: 'thr_1', status: { type: 'active', activeFlags: [] } },
        },
      },
      {
        type: 'turn.failed',
        error: 'codex app-server died during the turn: codex app-server was killed by SIGKILL',
      },
    ])
    expect(ended).toBe(1)
  })

  it('a deadline fails a turn whose end never comes', async () => {
    const run = new TurnRun()
    run.begin('turn_1')
    run.deadline(20, 'no confirmation')
    const events = await drain(run)
    expect(events.at(-1)).toEqual({ type: 'turn.failed', turnId: 'turn_1', error: 'no confirmation' })
  })
})

describe('thread settings', () => {
  it('codex 0.169 has no on-failure policy: it becomes on-request', () => {
    expect(askForApproval('on-failure')).toBe('on-request')
    expect(askForApproval('untrusted')).toBe('untrusted')
    expect(threadParams({ cwd: '/ws', sandbox: 'workspace-write', approvalPolicy: 'never' })).toEqual({
      cwd: '/ws',
      sandbox: 'workspace-write',
      approvalPolicy: 'never',
    })
  })
})
