import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { claudeArgs } from '../../src/agents/claude/command.js'
import { approvalAskOf, PermissionPrompts, ruleArg } from '../../src/agents/claude/permission-prompts.js'
import { permissionArgs } from '../../src/agents/claude/permissions.js'
import { createClaudeMapper } from '../../src/agents/claude/stream-events.js'
import type { ApprovalAsk, ApprovalDecision } from '../../src/agents/session.js'

// A can_use_tool question as claude 2.1.330 sends it (`--permission-prompt-tool stdio`), shortened.
const bashQuestion = {
  type: 'control_request',
  request_id: 'req-1',
  request: {
    subtype: 'can_use_tool',
    tool_name: 'Bash',
    input: { command: 'npm test' },
    description: 'npm test',
    decision_reason: 'This command requires approval',
    tool_use_id: 'toolu_1',
    permission_suggestions: [
      {
        type: 'addRules',
        rules: [{ toolName: 'Bash', ruleContent: 'npm test' }],
        behavior: 'allow',
        destination: 'localSettings',
      },
      { type: 'addDirectories', directories: ['/elsewhere'], destination: 'session' },
    ],
  },
}

/** A PermissionPrompts on a real stream, with the decision `answer` gives; what it wrote, line by line. */
function prompts(answer: (ask: ApprovalAsk, signal: AbortSignal) => Promise<ApprovalDecision>) {
  const stdin = new PassThrough()
  const written: Record<string, unknown>[] = []
  stdin.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) written.push(JSON.parse(line))
  })
  const remembered: string[][] = []
  const kept = new Set<string>()
  let cancelled = 0
  const asks: ApprovalAsk[] = []
  const p = new PermissionPrompts(
    'do it',
    '/ws',
    {
      requestApproval: (ask, signal) => {
        asks.push(ask)
        return answer(ask, signal)
      },
    },
    new AbortController().signal,
    {
      remember: async (rules) => {
        remembered.push([...rules])
        for (const rule of rules) kept.add(rule)
      },
      allows: (rule) => kept.has(rule),
      cancelled: () => cancelled++,
    },
  )
  p.attach(stdin)
  /** Resolves once `n` lines were written. */
  const lines = async (n: number) => {
    while (written.length < n) await new Promise((r) => stdin.once('data', r))
    return written
  }
  return { p, stdin, written, lines, remembered, asks, cancelled: () => cancelled }
}

describe('claude permission prompts (the host side of --permission-prompt-tool stdio)', () => {
  it('sends the prompt as a user message first, then each answer as a control_response', async () => {
    const t = prompts(async () => 'accept')
    const mapper = createClaudeMapper('claude', t.p)
    expect(mapper.map(JSON.stringify(bashQuestion))).toEqual([])
    const [prompt, answer] = await t.lines(2)
    expect(prompt).toEqual({ type: 'user', message: { role: 'user', content: 'do it' } })
    expect(answer).toEqual({
      type: 'control_response',
      response: {
        subtype: 'success',
        request_id: 'req-1',
        response: { behavior: 'allow', updatedInput: { command: 'npm test' } },
      },
    })
    expect(t.asks[0]).toMatchObject({ kind: 'command', command: 'npm test', cwd: '/ws', itemId: 'toolu_1' })
    expect(t.remembered).toEqual([])
  })

  it('accept_for_session allows the suggested rules for this process (never on disk) and remembers them', async () => {
    const t = prompts(async () => 'accept_for_session')
    t.p.handle(bashQuestion as never)
    const [, answer] = await t.lines(2)
    expect((answer!.response as { response: unknown }).response).toEqual({
      behavior: 'allow',
      updatedInput: { command: 'npm test' },
      updatedPermissions: [
        {
          type: 'addRules',
          rules: [{ toolName: 'Bash', ruleContent: 'npm test' }],
          behavior: 'allow',
          destination: 'session',
        },
      ],
    })
    expect(t.remembered).toEqual([['Bash(npm test)']])
  })

  it("a remembered rule is spelled as Claude Code spells it: the content's backslashes and parentheses escaped", () => {
    expect(ruleArg({ toolName: 'Edit' })).toBe('Edit')
    expect(ruleArg({ toolName: 'Bash', ruleContent: 'npm test' })).toBe('Bash(npm test)')
    expect(ruleArg({ toolName: 'Bash', ruleContent: `node -e "f('x')"` })).toBe(
      String.raw`Bash(node -e "f\('x'\)")`,
    )
    expect(ruleArg({ toolName: 'Bash', ruleContent: String.raw`printf 'a\n'` })).toBe(
      String.raw`Bash(printf 'a\\n')`,
    )
  })

  it('accept_for_session never remembers a whole tool: a bare suggestion is dropped, a command kept as asked', async () => {
    const bare = {
      ...bashQuestion,
      request: {
        ...bashQuestion.request,
        permission_suggestions: [{ type: 'addRules', rules: [{ toolName: 'Bash' }], behavior: 'allow' }],
      },
    }
    const t = prompts(async () => 'accept_for_session')
    t.p.handle(bare as never)
    await t.lines(2)
    expect(t.remembered).toEqual([['Bash(npm test)']])
    const edit = {
      type: 'control_request',
      request_id: 'req-2',
      request: {
        subtype: 'can_use_tool',
        tool_name: 'Edit',
        input: { file_path: '/ws/a' },
        permission_suggestions: [],
      },
    }
    const e = prompts(async () => 'accept_for_session')
    e.p.handle(edit as never)
    const [, answer] = await e.lines(2)
    expect((answer!.response as { response: unknown }).response).toEqual({
      behavior: 'allow',
      updatedInput: { file_path: '/ws/a' },
    })
    expect(e.remembered).toEqual([])
  })

  it("a WebFetch's accept_for_session keeps the exact URL (the gateway's rule), never Claude's domain rule", async () => {
    const fetchOf = (id: string, url: string, prompt: string) => ({
      type: 'control_request',
      request_id: id,
      request: {
        subtype: 'can_use_tool',
        tool_name: 'WebFetch',
        input: { url, prompt },
        tool_use_id: `toolu_${id}`,
        permission_suggestions: [
          {
            type: 'addRules',
            rules: [{ toolName: 'WebFetch', ruleContent: 'domain:example.com' }],
            behavior: 'allow',
            destination: 'localSettings',
          },
        ],
      },
    })
    const t = prompts(async () => 'accept_for_session')
    t.p.handle(fetchOf('f1', 'https://example.com/a', 'summarize') as never)
    const [, first] = await t.lines(2)
    expect((first!.response as { response: unknown }).response).toEqual({
      behavior: 'allow',
      updatedInput: { url: 'https://example.com/a', prompt: 'summarize' },
    })
    expect(t.remembered).toEqual([['gateway:WebFetch {"url":"https://example.com/a"}']])
    // the same URL (another prompt): allowed unasked; another page of the host: asked
    t.p.handle(fetchOf('f2', 'https://example.com/a', 'the title') as never)
    const [, , again] = await t.lines(3)
    expect(again).toMatchObject({ response: { request_id: 'f2', response: { behavior: 'allow' } } })
    expect(t.asks).toHaveLength(1)
    t.p.handle(fetchOf('f3', 'https://example.com/b', 'summarize') as never)
    await t.lines(4)
    expect(t.asks).toHaveLength(2)
    expect(t.asks[1]?.reason).toContain('https://example.com/b')
  })

  it('decline denies and marks the tool use declined; cancel denies with interrupt and reports it', async () => {
    for (const decision of ['decline', 'cancel'] as const) {
      const t = prompts(async () => decision)
      const mapper = createClaudeMapper('claude', t.p)
      mapper.map(JSON.stringify(bashQuestion))
      const [, answer] = await t.lines(2)
      const response = (answer!.response as { response: Record<string, unknown> }).response
      expect(response).toMatchObject({ behavior: 'deny', interrupt: decision === 'cancel' })
      expect(t.p.declined.has('toolu_1')).toBe(true)
      expect(t.cancelled()).toBe(decision === 'cancel' ? 1 : 0)
    }
  })

  it('a question claude withdraws is aborted and left unanswered', async () => {
    let seen: AbortSignal | undefined
    const t = prompts(
      (_ask, signal) =>
        new Promise((resolve) => {
          seen = signal
          signal.addEventListener('abort', () => resolve('cancel'))
        }),
    )
    t.p.handle(bashQuestion as never)
    t.p.handle({ type: 'control_cancel_request', request_id: 'req-1' })
    expect(seen?.aborted).toBe(true)
    await new Promise((r) => setImmediate(r))
    expect(t.written).toHaveLength(1) // the prompt only
  })

  it('another control request is answered with an error; the result line ends stdin', async () => {
    const t = prompts(async () => 'accept')
    t.p.handle({ type: 'control_request', request_id: 'r2', request: { subtype: 'mcp_message' } })
    const [, error] = await t.lines(2)
    expect(error).toMatchObject({
      type: 'control_response',
      response: { subtype: 'error', request_id: 'r2' },
    })
    createClaudeMapper('claude', t.p).map(
      JSON.stringify({ type: 'result', subtype: 'success', result: 'ok' }),
    )
    expect(t.stdin.writableEnded).toBe(true)
  })

  it('without prompts a control line is agent.raw, as before', () => {
    expect(createClaudeMapper('claude').map(JSON.stringify(bashQuestion))).toMatchObject([
      { type: 'agent.raw' },
    ])
  })

  it('file tools ask as file changes, other tools as permissions', () => {
    const ask = (tool_name: string, input: Record<string, unknown>) =>
      approvalAskOf({ subtype: 'can_use_tool', tool_name, input }, '/ws')
    expect(ask('Write', { file_path: '/ws/a.txt' })).toMatchObject({
      kind: 'file_change',
      changes: [{ path: '/ws/a.txt', kind: 'add' }],
    })
    expect(ask('Edit', { file_path: '/ws/a.txt' })).toMatchObject({ changes: [{ kind: 'update' }] })
    expect(ask('WebFetch', { url: 'https://example.com/a', prompt: 'p' })).toMatchObject({
      kind: 'permission',
      reason:
        'WebFetch https://example.com/a; accept_for_session allows this exact URL again in this session, no other page of its host',
    })
    expect(ask('WebSearch', { query: 'q' })).toMatchObject({ kind: 'permission', reason: 'WebSearch' })
  })
})

describe('claude argv with approvals', () => {
  it('asks through stdio: read-only becomes default mode, workspace-write stays acceptEdits, bypass asks nothing', () => {
    expect(permissionArgs('read-only', true)).toEqual([
      '--permission-mode',
      'default',
      '--permission-prompt-tool',
      'stdio',
    ])
    expect(permissionArgs('workspace-write', true)).toEqual([
      '--permission-mode',
      'acceptEdits',
      '--permission-prompt-tool',
      'stdio',
    ])
    expect(permissionArgs('danger-full-access', true)).toEqual(['--permission-mode', 'bypassPermissions'])
  })

  it('stream-json input and the session allowed rules only when it asks', () => {
    const asking = claudeArgs({ sandbox: 'read-only', asks: true, allowedTools: ['Bash(npm test)'] })
    expect(asking).toContain('--input-format')
    expect(asking.slice(asking.indexOf('--allowedTools'), asking.indexOf('--allowedTools') + 2)).toEqual([
      '--allowedTools',
      'Bash(npm test)',
    ])
    const plain = claudeArgs({ sandbox: 'read-only', allowedTools: ['Bash(npm test)'] })
    expect(plain).not.toContain('--input-format')
    expect(plain).not.toContain('--allowedTools')
    expect(claudeArgs({ sandbox: 'danger-full-access', asks: true })).not.toContain('--input-format')
  })
})
