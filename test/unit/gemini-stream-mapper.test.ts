import { describe, expect, it } from 'vitest'
import { approvalArgs } from '../../src/agents/gemini/permissions.js'
import { createGeminiStreamMapper } from '../../src/agents/gemini/stream-events.js'
import { agentEvent } from '../../src/protocol/events.js'
import { gemini } from '../mock-llm/formats/gemini.js'

// Lines recorded from `gemini -p '' -o stream-json` 0.61.0 against the mock model.
const init =
  '{"type":"init","timestamp":"2026-11-21T14:12:08.882Z","session_id":"10df006d-5e71-492c-b27c-9605a8820a32","model":"gemini-2.5-flash"}'
const user = '{"type":"message","timestamp":"2026-11-21T14:12:08.884Z","role":"user","content":"write proof"}'
const toolUse =
  '{"type":"tool_use","timestamp":"2026-11-21T14:12:09.027Z","tool_name":"run_shell_command","tool_id":"run_shell_command__1","parameters":{"command":"echo hi > proof.txt && echo wrote"}}'
const toolResult =
  '{"type":"tool_result","timestamp":"2026-11-21T14:12:09.158Z","tool_id":"run_shell_command__1","status":"success","output":"wrote"}'
const delta = (content: string) =>
  JSON.stringify({
    type: 'message',
    timestamp: '2026-11-21T14:12:09.272Z',
    role: 'assistant',
    content,
    delta: true,
  })
const success =
  '{"type":"result","timestamp":"2026-11-21T14:12:09.276Z","status":"success","stats":{"total_tokens":24,"input_tokens":20,"output_tokens":4,"cached":0,"input":20,"duration_ms":394,"tool_calls":1,"models":{}}}'
const apiError =
  '{"type":"result","timestamp":"2026-11-21T14:12:26.170Z","status":"error","error":{"type":"unknown","message":"[API Error: mock exploded]"},"stats":{"total_tokens":0,"input_tokens":0,"output_tokens":0,"cached":0,"input":0,"duration_ms":0,"tool_calls":0,"models":{}}}'
const notRegistered =
  '{"type":"tool_result","timestamp":"2026-11-21T14:12:03.973Z","tool_id":"t2","status":"error","output":"Tool \\"run_shell_command\\" not found.","error":{"type":"tool_not_registered","message":"Tool \\"run_shell_command\\" not found."}}'

describe('gemini stream-json mapping', () => {
  it('maps a session with a shell call and streamed text', () => {
    const mapper = createGeminiStreamMapper()
    const events = [init, user, toolUse, toolResult, delta('done '), delta('here'), success].flatMap((l) =>
      mapper.map(l),
    )
    for (const ev of events) expect(agentEvent.safeParse(ev).success, JSON.stringify(ev)).toBe(true)
    expect(events.map((e) => e.type)).toEqual([
      'agent.session',
      'turn.started',
      'item.started',
      'item.completed',
      'item.started',
      'item.delta',
      'item.delta',
      'item.completed',
      'turn.completed',
    ])
    expect(events[0]).toEqual({
      type: 'agent.session',
      agent: 'gemini',
      agentSessionId: '10df006d-5e71-492c-b27c-9605a8820a32',
    })
    expect(events[3]).toEqual({
      type: 'item.completed',
      item: {
        id: 'run_shell_command__1',
        type: 'command_execution',
        command: 'echo hi > proof.txt && echo wrote',
        aggregatedOutput: 'wrote',
        exitCode: 0,
        status: 'completed',
      },
    })
    expect(events[7]).toMatchObject({ item: { type: 'agent_message', text: 'done here' } })
    expect(mapper.finalResponse()).toBe('done here')
    expect(mapper.usage()).toEqual({
      inputTokens: 20,
      cachedInputTokens: 0,
      outputTokens: 4,
      reasoningOutputTokens: 0,
    })
    expect(mapper.failure()).toBeNull()
    expect(mapper.sessionId()).toBe('10df006d-5e71-492c-b27c-9605a8820a32')
  })

  it('other tools become tool_call items; a refused tool is a failed item', () => {
    const mapper = createGeminiStreamMapper()
    mapper.map(
      '{"type":"tool_use","tool_name":"read_file","tool_id":"t1","parameters":{"file_path":"a.txt"},"timestamp":"x"}',
    )
    const [read] = mapper.map(
      '{"type":"tool_result","tool_id":"t1","status":"success","output":"abc","timestamp":"x"}',
    )
    expect(read).toEqual({
      type: 'item.completed',
      item: {
        id: 't1',
        type: 'tool_call',
        tool: 'read_file',
        arguments: { file_path: 'a.txt' },
        result: 'abc',
        status: 'completed',
      },
    })
    mapper.map(toolUse.replace('run_shell_command__1', 't2'))
    expect(mapper.map(notRegistered)[0]).toMatchObject({
      item: { type: 'command_execution', status: 'failed', exitCode: null },
    })
  })

  it('an error result fails the turn with the agent message', () => {
    const mapper = createGeminiStreamMapper()
    const events = [init, user, apiError].flatMap((l) => mapper.map(l))
    expect(events.at(-1)).toEqual({ type: 'turn.failed', error: '[API Error: mock exploded]' })
    expect(mapper.failure()).toBe('[API Error: mock exploded]')
  })

  it('warnings become error items; unknown and malformed lines become agent.raw', () => {
    const mapper = createGeminiStreamMapper()
    expect(
      mapper.map('{"type":"error","severity":"warning","message":"Loop detected","timestamp":"x"}'),
    ).toEqual([{ type: 'item.completed', item: { id: 'error_1', type: 'error', message: 'Loop detected' } }])
    expect(mapper.lastError?.()).toBe('Loop detected')
    expect(mapper.map('{"type":"thought","text":"hm"}')).toEqual([
      { type: 'agent.raw', agent: 'gemini', payload: { type: 'thought', text: 'hm' } },
    ])
    expect(mapper.map('not json')).toEqual([{ type: 'agent.raw', agent: 'gemini', payload: 'not json' }])
    expect(mapper.map('{"type":"tool_result","tool_id":"unknown","status":"success"}')[0]?.type).toBe(
      'agent.raw',
    )
    expect(mapper.map('')).toEqual([])
  })

  it('a whole (non-delta) message is one completed item', () => {
    const mapper = createGeminiStreamMapper()
    const events = mapper.map('{"type":"message","role":"assistant","content":"whole","timestamp":"x"}')
    expect(events.map((e) => e.type)).toEqual(['item.started', 'item.completed'])
    expect(mapper.finalResponse()).toBe('whole')
  })
})

describe('gemini sandbox mapping', () => {
  it('maps each sandbox mode to approval flags', () => {
    expect(approvalArgs('read-only')).toEqual(['--approval-mode', 'default'])
    expect(approvalArgs('workspace-write')).toEqual([
      '--approval-mode',
      'auto_edit',
      '--allowed-tools',
      'run_shell_command',
    ])
    expect(approvalArgs('danger-full-access')).toEqual(['--approval-mode', 'yolo'])
  })
})

describe('mock-llm gemini format', () => {
  const context = { text: '<session_context>\nThis is the Gemini CLI.\n</session_context>' }
  const body = {
    contents: [
      { role: 'user', parts: [context, { text: 'first prompt' }] },
      { role: 'model', parts: [{ text: 'answer' }] },
      { role: 'user', parts: [{ text: 'second prompt' }] },
      { role: 'model', parts: [{ functionCall: { name: 'run_shell_command', args: { command: 'ls' } } }] },
      {
        role: 'user',
        parts: [{ functionResponse: { name: 'run_shell_command', response: { output: 'a.txt' } } }],
      },
    ],
  }

  it('routes only the streaming call and reads the turn from contents', () => {
    expect(gemini.handles('POST', '/v1beta/models/gemini-2.5-flash:streamGenerateContent')).toBe(true)
    expect(gemini.handles('POST', '/v1beta/models/gemini-2.5-flash:generateContent')).toBe(false)
    expect(gemini.describeTurn({}, body)).toEqual({
      lastUserText: 'second prompt',
      conversationKey: 'first-user:first prompt',
      isFollowUp: true,
      lastToolOutput: 'a.txt',
    })
    expect(gemini.describeTurn({}, { contents: body.contents.slice(0, 3) }).isFollowUp).toBe(false)
  })

  it('renders deltas as several chunks and a shell step as run_shell_command', () => {
    const ctx = { body, nextId: (p: string) => `${p}_1` }
    const chunks = gemini.render({ kind: 'text', text: 'a few words here', deltas: true }, ctx)
    expect(chunks.length).toBe(4)
    expect(JSON.stringify(chunks.at(-1))).toContain('"finishReason":"STOP"')
    const call = gemini.render({ kind: 'exec_command', cmd: 'ls' }, ctx)
    expect(JSON.stringify(call)).toContain(
      '{"functionCall":{"name":"run_shell_command","args":{"command":"ls"}}}',
    )
  })
})
