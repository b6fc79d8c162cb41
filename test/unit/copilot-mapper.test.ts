import { describe, expect, it } from 'vitest'
import { copilotArgs } from '../../src/agents/copilot/args.js'
import { createCopilotMapper } from '../../src/agents/copilot/mapper.js'
import { permissionArgs } from '../../src/agents/copilot/permissions.js'
import { agentEvent } from '../../src/protocol/events.js'

// Lines recorded from `copilot -p ... --output-format json` 1.0.102 against mock-llm (ids shortened).
const recorded = {
  skills: '{"type":"session.skills_loaded","data":{"skills":[]},"ephemeral":true,"id":"e1","timestamp":"t"}',
  user: '{"type":"user.message","data":{"content":"write proof","transformedContent":"<current_datetime>x</current_datetime>\\n\\nwrite proof","turnId":"0"},"id":"e2","timestamp":"t"}',
  turnStart:
    '{"type":"assistant.turn_start","data":{"turnId":"0","interactionId":"i1"},"id":"e3","timestamp":"t"}',
  toolMessage:
    '{"type":"assistant.message","data":{"messageId":"m1","model":"gpt-5.5","content":"","toolRequests":[{"toolCallId":"call_2","name":"bash","arguments":{"command":"echo hi > proof.txt && echo wrote","description":"mock command"},"type":"function"}],"turnId":"0"},"id":"e4","timestamp":"t"}',
  toolStart:
    '{"type":"tool.execution_start","data":{"toolCallId":"call_2","toolName":"bash","arguments":{"command":"echo hi > proof.txt && echo wrote","description":"mock command"},"turnId":"0"},"id":"e5","timestamp":"t"}',
  toolDone:
    '{"type":"tool.execution_complete","data":{"toolCallId":"call_2","model":"gpt-5.5","turnId":"0","shellExecution":{"exitCode":0},"success":true,"result":{"content":"wrote\\n<shellId: 0 completed with exit code 0>","detailedContent":"wrote\\n<shellId: 0 completed with exit code 0>"}},"id":"e6","timestamp":"t"}',
  delta1:
    '{"type":"assistant.message_delta","data":{"messageId":"m2","deltaContent":"done: "},"ephemeral":true,"id":"e7","timestamp":"t"}',
  delta2:
    '{"type":"assistant.message_delta","data":{"messageId":"m2","deltaContent":"wrote"},"ephemeral":true,"id":"e8","timestamp":"t"}',
  message:
    '{"type":"assistant.message","data":{"messageId":"m2","model":"gpt-5.5","content":"done: wrote","toolRequests":[],"turnId":"1"},"id":"e9","timestamp":"t"}',
  result:
    '{"type":"result","timestamp":"t","sessionId":"8181b048-10ef-4ca9-88de-b9f42080aeaa","exitCode":0,"usage":{"premiumRequests":0,"totalApiDurationMs":82,"sessionDurationMs":627,"codeChanges":{"linesAdded":0,"linesRemoved":0,"filesModified":[]}}}',
  callFailure:
    '{"type":"model.call_failure","data":{"model":"gpt-5.5","durationMs":25,"apiEndpoint":"/chat/completions","failureKind":"transport","errorMessage":"500 mock exploded"},"ephemeral":true,"id":"f1","timestamp":"t"}',
  sessionError:
    '{"type":"session.error","data":{"errorType":"query","message":"Failed to get response from the AI model; retried 5 times","statusCode":500},"id":"f2","timestamp":"t"}',
  failedResult:
    '{"type":"result","timestamp":"t","sessionId":"dfced923-420f-497b-981d-60931fe129d2","exitCode":1,"usage":{}}',
}

const mapAll = (lines: string[], opts = {}) => {
  const mapper = createCopilotMapper(opts)
  return { mapper, events: lines.flatMap((line) => mapper.map(line)) }
}

describe('copilot JSONL mapping', () => {
  it('maps a tool run: turn, command_execution, deltas, message, session id', () => {
    const { mapper, events } = mapAll(Object.values(recorded).slice(0, 10))
    for (const ev of events) expect(agentEvent.safeParse(ev).success, JSON.stringify(ev)).toBe(true)
    expect(events.filter((e) => e.type !== 'agent.raw').map((e) => e.type)).toEqual([
      'turn.started',
      'item.started',
      'item.completed',
      'item.delta',
      'item.delta',
      'item.completed',
      'agent.session',
      'turn.completed',
    ])
    expect(events.find((e) => e.type === 'item.completed')).toEqual({
      type: 'item.completed',
      item: {
        id: 'call_2',
        type: 'command_execution',
        command: 'echo hi > proof.txt && echo wrote',
        aggregatedOutput: 'wrote',
        exitCode: 0,
        status: 'completed',
      },
    })
    expect(events.filter((e) => e.type === 'agent.raw')).toHaveLength(3)
    expect(mapper.finalResponse()).toBe('done: wrote')
    expect(mapper.sessionId()).toBe('8181b048-10ef-4ca9-88de-b9f42080aeaa')
    expect(mapper.failure()).toBeNull()
  })

  it('other tools become tool_call items', () => {
    const { events } = mapAll([
      '{"type":"tool.execution_start","data":{"toolCallId":"c9","toolName":"view","arguments":{"path":"/w/a.txt"}}}',
      '{"type":"tool.execution_complete","data":{"toolCallId":"c9","success":false,"error":{"message":"no such file"}}}',
    ])
    expect(events.at(-1)).toEqual({
      type: 'item.completed',
      item: {
        id: 'c9',
        type: 'tool_call',
        tool: 'view',
        arguments: { path: '/w/a.txt' },
        error: 'no such file',
        status: 'failed',
      },
    })
  })

  it('a session error fails the turn once; the failed result names the session', () => {
    const { mapper, events } = mapAll([
      recorded.user,
      recorded.callFailure,
      recorded.sessionError,
      recorded.failedResult,
    ])
    expect(events.filter((e) => e.type === 'turn.failed')).toEqual([
      { type: 'turn.failed', error: 'Failed to get response from the AI model; retried 5 times' },
    ])
    expect(events.some((e) => e.type === 'turn.completed')).toBe(false)
    expect(mapper.failure()).toMatch(/retried 5 times/)
    expect(mapper.sessionId()).toBe('dfced923-420f-497b-981d-60931fe129d2')
  })

  it('gives up after maxModelRetries model failures', () => {
    const reasons: string[] = []
    const { mapper, events } = mapAll([recorded.user, recorded.callFailure], {
      maxModelRetries: 0,
      onGiveUp: (r: string) => reasons.push(r),
    })
    expect(mapper.gaveUp()).toBe(true)
    expect(reasons).toHaveLength(1)
    expect(events.at(-1)).toMatchObject({
      type: 'turn.failed',
      error: expect.stringContaining('500 mock exploded'),
    })
    expect(
      createCopilotMapper()
        .map(recorded.callFailure)
        .map((e) => e.type),
    ).toEqual(['agent.raw'])
  })

  it('keeps unknown, malformed and non-JSON lines as agent.raw', () => {
    const { events } = mapAll([
      'not json',
      '{"type":"assistant.message","data":{}}',
      '{"type":"brand.new"}',
      '',
    ])
    expect(events.map((e) => e.type)).toEqual(['agent.raw', 'agent.raw', 'agent.raw'])
    expect(events[0]).toEqual({ type: 'agent.raw', agent: 'copilot', payload: 'not json' })
  })

  it('adds up assistant.usage', () => {
    const usage =
      '{"type":"assistant.usage","data":{"model":"m","inputTokens":10,"outputTokens":4,"cacheReadTokens":2}}'
    const { mapper } = mapAll([usage, usage])
    expect(mapper.usage()).toEqual({
      inputTokens: 20,
      cachedInputTokens: 4,
      outputTokens: 8,
      reasoningOutputTokens: 0,
    })
  })
})

describe('copilot argv', () => {
  it('maps sandbox modes to permission flags', () => {
    expect(permissionArgs('read-only')).toEqual([
      '--allow-all-tools',
      '--deny-tool=shell',
      '--deny-tool=write',
    ])
    expect(permissionArgs('workspace-write')).toEqual(['--allow-tool=shell', '--allow-tool=write'])
    expect(permissionArgs('danger-full-access')).toEqual(['--allow-all-tools', '--allow-all-paths'])
  })

  it('creates a session with --session-id, then resumes it', () => {
    const base = { prompt: '-starts with a dash', sandbox: 'read-only' as const }
    const created = copilotArgs({ ...base, model: 'gpt-5.5', session: { id: 'u1', mode: 'new' } })
    expect(created[0]).toBe('--prompt=-starts with a dash')
    expect(created).toContain('--output-format=json')
    expect(created).toContain('--model=gpt-5.5')
    expect(created.at(-1)).toBe('--session-id=u1')
    expect(copilotArgs({ ...base, session: { id: 'u1', mode: 'resume' } }).at(-1)).toBe('--resume=u1')
    expect(copilotArgs(base).some((a) => a.startsWith('--model') || a.startsWith('--resume'))).toBe(false)
  })
})
