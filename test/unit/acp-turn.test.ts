import { describe, expect, it } from 'vitest'
import { AcpTurn } from '../../src/agents/acp/acp-turn.js'

/** Whether `p` settled within a few microtask turns (no timer ran meanwhile: none can in that time). */
async function settledAtOnce(p: Promise<unknown>): Promise<boolean> {
  let done = false
  void p.then(() => {
    done = true
  })
  for (let i = 0; i < 5; i++) await Promise.resolve()
  return done
}

/** The agent reports a command it started (a tool call still in progress). */
function startCommand(turn: AcpTurn, toolCallId: string): void {
  turn.push(
    turn.mapper.map({ sessionUpdate: 'tool_call', toolCallId, kind: 'execute', status: 'in_progress' }),
  )
}

describe('AcpTurn: the wait for open tool calls at the end of a turn', () => {
  it('a turn without tool calls (a text answer) does not wait at all', async () => {
    const turn = new AcpTurn('acp:test', 't1')
    turn.push(
      turn.mapper.map({ sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: 'ok' } }),
    )
    expect(await settledAtOnce(turn.toolsSettled(10_000))).toBe(true)
  })

  it('a turn whose tool calls all ended does not wait', async () => {
    const turn = new AcpTurn('acp:test', 't2')
    startCommand(turn, 'c1')
    turn.push(turn.mapper.map({ sessionUpdate: 'tool_call_update', toolCallId: 'c1', status: 'completed' }))
    expect(await settledAtOnce(turn.toolsSettled(10_000))).toBe(true)
  })

  it('an open tool call is waited for until its last update arrives', async () => {
    const turn = new AcpTurn('acp:test', 't3')
    startCommand(turn, 'c1')
    const settled = turn.toolsSettled(10_000)
    expect(await settledAtOnce(settled)).toBe(false)
    turn.push(turn.mapper.map({ sessionUpdate: 'tool_call_update', toolCallId: 'c1', status: 'completed' }))
    expect(await settledAtOnce(settled)).toBe(true)
    turn.completed('completed')
  })
})
