import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { UpdateMapper } from '../../src/agents/acp/update-mapper.js'
import { type AgentEvent, agentEvent } from '../../src/protocol/events.js'
import type { Item } from '../../src/protocol/items.js'

/**
 * The command item of an ACP tool call against the orders its updates come in. The base sequence is codex-acp's,
 * recorded: `tool_call` (in_progress, terminal content), the output as two `_meta.terminal_output` chunks (the
 * environment, then `printed-env`), then `completed` with codex's ExecCommandEnd as rawOutput.
 */
type Update = Record<string, unknown> & { toolCallId: string }
const recorded = JSON.parse(
  readFileSync(new URL('../fixtures/acp-wire/codex-acp-command.json', import.meta.url), 'utf8'),
) as { updates: Update[] }
const [toolCall, envChunk, lastChunk, completed] = recorded.updates as [Update, Update, Update, Update]
const chunkData = (u: Update) => (u._meta as { terminal_output: { data: string } }).terminal_output.data
const whole = chunkData(envChunk) + chunkData(lastChunk)
const rawOutput = completed.rawOutput as Record<string, unknown>

/** `completed` with its rawOutput changed (`undefined` drops a field). */
const completedWith = (fields: Record<string, unknown>): Update => ({
  ...completed,
  rawOutput: Object.fromEntries(
    Object.entries({ ...rawOutput, ...fields }).filter(([, v]) => v !== undefined),
  ),
})

function mapAll(updates: unknown[], m = new UpdateMapper('acp:codex-acp', 't1')) {
  const events = [...updates.flatMap((u) => m.map(u)), ...m.finish()]
  for (const ev of events) expect(agentEvent.safeParse(ev).success, JSON.stringify(ev)).toBe(true)
  return events
}
const completedItems = (events: AgentEvent[]): Item[] =>
  events.flatMap((e) => (e.type === 'item.completed' ? [e.item] : []))
const commandItem = (events: AgentEvent[]) => {
  const items = completedItems(events)
  expect(items, JSON.stringify(events)).toHaveLength(1)
  return items[0] as Extract<Item, { type: 'command_execution' }>
}

describe('ACP command items: the whole output, whatever the order of the updates', () => {
  it('the recorded sequence: the item takes aggregated_output, exit code and status', () => {
    expect(rawOutput.aggregated_output).toBe(whole)
    const events = mapAll([toolCall, envChunk, lastChunk, completed])
    expect(events.map((e) => e.type)).toEqual(['item.started', 'item.delta', 'item.delta', 'item.completed'])
    expect(commandItem(events)).toEqual({
      id: 'call_3',
      type: 'command_execution',
      command: 'env; echo printed-env',
      aggregatedOutput: whole,
      exitCode: 0,
      status: 'completed',
    })
  })

  it('chunks accumulate: each update sends only the new output (item.delta), which adds up to the whole', () => {
    const events = mapAll([toolCall, envChunk, lastChunk])
    expect(events.map((e) => e.type)).toEqual(['item.started', 'item.delta', 'item.delta', 'item.completed'])
    const deltas = events.flatMap((e) => (e.type === 'item.delta' ? [e.delta] : []))
    expect(deltas[0]).toBe(chunkData(envChunk))
    expect(deltas.join('')).toBe(whole)
    expect(events.every((e) => e.type !== 'item.delta' || e.itemId === 'call_3')).toBe(true)
  })

  it('an update that changes more than the output is sent whole (item.updated); one that changes nothing is not sent', () => {
    const nothingNew = { sessionUpdate: 'tool_call_update', toolCallId: 'call_3', status: 'in_progress' }
    const otherCommand = { ...nothingNew, rawInput: { command: 'env | sort' } }
    const events = mapAll([toolCall, envChunk, nothingNew, otherCommand])
    expect(events.map((e) => e.type)).toEqual([
      'item.started',
      'item.delta',
      'item.updated',
      'item.completed',
    ])
    const updated = events[2] as Extract<AgentEvent, { type: 'item.updated' }>
    expect(updated.item).toMatchObject({ command: 'env | sort', aggregatedOutput: chunkData(envChunk) })
  })

  it('completed without aggregated_output keeps the streamed output (not the truncated formatted_output)', () => {
    const bare = completedWith({
      aggregated_output: undefined,
      stdout: undefined,
      formatted_output: 'printed-env\n',
    })
    expect(commandItem(mapAll([toolCall, envChunk, lastChunk, bare])).aggregatedOutput).toBe(whole)
    const none = { ...completed, rawOutput: undefined }
    expect(commandItem(mapAll([toolCall, envChunk, lastChunk, none]))).toMatchObject({
      aggregatedOutput: whole,
      exitCode: 0,
      status: 'completed',
    })
  })

  it('an aggregated_output that holds only the last chunk (what CI saw) loses to the streamed whole', () => {
    const partial = completedWith({ aggregated_output: 'printed-env\n', stdout: 'printed-env\n' })
    expect(commandItem(mapAll([toolCall, envChunk, lastChunk, partial])).aggregatedOutput).toBe(whole)
  })

  it('a chunk missing from the stream (codex skips those its stream fell behind on): aggregated_output wins', () => {
    expect(commandItem(mapAll([toolCall, lastChunk, completed])).aggregatedOutput).toBe(whole)
  })

  it('a later update without output does not erase what an earlier one reported', () => {
    const early = {
      sessionUpdate: 'tool_call_update',
      toolCallId: 'call_3',
      rawOutput: { aggregated_output: whole },
    }
    const late = { ...completed, rawOutput: { exit_code: 0 } }
    expect(commandItem(mapAll([toolCall, early, late])).aggregatedOutput).toBe(whole)
  })

  it('a chunk before its tool_call: the item is a command from the start, with the whole output', () => {
    const events = mapAll([
      envChunk,
      toolCall,
      lastChunk,
      completedWith({ aggregated_output: undefined, stdout: undefined }),
    ])
    expect(events[0]).toMatchObject({ type: 'item.started', item: { type: 'command_execution' } })
    expect(commandItem(events)).toMatchObject({ command: 'env; echo printed-env', aggregatedOutput: whole })
  })

  it('a tool_call arriving after the end does not reopen the call', () => {
    const events = mapAll([envChunk, lastChunk, completed, toolCall])
    expect(commandItem(events)).toMatchObject({ aggregatedOutput: whole, status: 'completed' })
  })

  it('content-only output (no terminal extension): the last non-empty content is the output', () => {
    const content = (text: string) => [{ type: 'content', content: { type: 'text', text } }]
    const noTerminal = { ...toolCall, content: [], _meta: undefined }
    const events = mapAll([
      noTerminal,
      {
        sessionUpdate: 'tool_call_update',
        toolCallId: 'call_3',
        content: content('```sh\nPATH=/bin\n```\n'),
      },
      {
        sessionUpdate: 'tool_call_update',
        toolCallId: 'call_3',
        content: content('```sh\nPATH=/bin\nprinted-env\n```\n'),
      },
      { sessionUpdate: 'tool_call_update', toolCallId: 'call_3', status: 'completed', content: [] },
    ])
    expect(commandItem(events).aggregatedOutput).toBe('```sh\nPATH=/bin\nprinted-env\n```\n')
  })

  it('a call whose end never came is completed at the turn end with what it has: failed, or by its exit code', () => {
    expect(commandItem(mapAll([toolCall, envChunk, lastChunk]))).toMatchObject({
      aggregatedOutput: whole,
      exitCode: null,
      status: 'failed',
    })
    const exit = (code: number) => ({
      sessionUpdate: 'tool_call_update',
      toolCallId: 'call_3',
      _meta: { terminal_exit: { terminal_id: 'call_3', exit_code: code, signal: null } },
    })
    expect(commandItem(mapAll([toolCall, envChunk, lastChunk, exit(0)]))).toMatchObject({
      aggregatedOutput: whole,
      exitCode: 0,
      status: 'completed',
    })
    expect(commandItem(mapAll([toolCall, envChunk, exit(2)]))).toMatchObject({
      exitCode: 2,
      status: 'failed',
    })
  })

  it("an update of an earlier turn's call is kept raw, not made an item of this turn that never ends", () => {
    const m = new UpdateMapper('acp:codex-acp', 't2', (id) => id === 'call_3')
    const events = mapAll([completed], m)
    expect(events).toEqual([{ type: 'agent.raw', agent: 'acp:codex-acp', payload: completed }])
    expect(m.hasOpenTools).toBe(false)
  })
})
