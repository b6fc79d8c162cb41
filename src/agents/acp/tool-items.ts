import type { Item } from '../../protocol/items.js'
import type { ToolCallFields, ToolContent } from './wire.js'

/** What the gateway knows of one ACP tool call (merged from `tool_call` and its `tool_call_update`s). */
export interface ToolCallState {
  id: string
  title?: string
  kind?: string
  status?: 'pending' | 'in_progress' | 'completed' | 'failed'
  content: ToolContent[]
  locations: { path: string }[]
  rawInput?: unknown
  rawOutput?: unknown
  /** The gateway's approval hook declined it. */
  declined?: boolean
  /** Output (chunks appended) and exit code from the terminal extension (`_meta.terminal_output` / `terminal_exit`). */
  terminalOutput?: string
  terminalExitCode?: number | null
}

export function mergeToolCall(prev: ToolCallState | undefined, f: ToolCallFields): ToolCallState {
  const next: ToolCallState = prev ? { ...prev } : { id: f.toolCallId, content: [], locations: [] }
  if (f.title) next.title = f.title
  if (f.kind) next.kind = f.kind
  if (f.status) next.status = f.status
  if (f.content) next.content = f.content
  if (f.locations) next.locations = f.locations
  if (f.rawInput !== undefined) next.rawInput = f.rawInput
  if (f.rawOutput !== undefined) next.rawOutput = f.rawOutput
  // terminal_output chunks are appended (codex-acp streams them; claude-agent-acp sends the output once)
  if (f._meta?.terminal_output)
    next.terminalOutput = (next.terminalOutput ?? '') + f._meta.terminal_output.data
  if (f._meta?.terminal_exit) next.terminalExitCode = f._meta.terminal_exit.exit_code ?? null
  return next
}

type ItemStatus = 'in_progress' | 'completed' | 'failed' | 'declined'

/** ACP status -> item status; a call the hook declined is `declined` whatever the agent says. */
export function itemStatus(t: ToolCallState): ItemStatus {
  if (t.declined && t.status !== 'completed') return 'declined'
  if (t.status === 'completed' || t.status === 'failed') return t.status
  return 'in_progress'
}

/** The normalized item of a tool call: `execute` -> command_execution, `edit`/`delete` -> file_change. */
export function toolItem(t: ToolCallState, status: ItemStatus = itemStatus(t)): Item {
  if (t.kind === 'execute')
    return {
      id: t.id,
      type: 'command_execution',
      command: commandOf(t),
      aggregatedOutput: outputOf(t),
      exitCode: exitCodeOf(t.rawOutput) ?? t.terminalExitCode ?? null,
      status,
    }
  if (t.kind === 'edit' || t.kind === 'delete')
    return { id: t.id, type: 'file_change', changes: changesOf(t), status }
  return {
    id: t.id,
    type: 'tool_call',
    tool: t.title ?? t.kind ?? 'tool',
    ...(t.rawInput !== undefined ? { arguments: t.rawInput } : {}),
    ...(t.rawOutput !== undefined ? { result: t.rawOutput } : {}),
    ...(status === 'failed' ? { error: textOf(t.content) || 'the tool call failed' } : {}),
    status,
  }
}

const record = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined

/** The command line: `rawInput.command` (string, or argv where `sh -c script` gives the script), else the title. */
export function commandOf(t: ToolCallState): string {
  const command = record(t.rawInput)?.command
  if (typeof command === 'string') return command
  if (Array.isArray(command) && command.every((a) => typeof a === 'string')) {
    const [, flag, script] = command
    if (command.length === 3 && (flag === '-c' || flag === '-lc') && script) return script
    return command.join(' ')
  }
  return t.title ?? ''
}

function outputOf(t: ToolCallState): string {
  if (typeof t.rawOutput === 'string') return t.rawOutput
  const out = record(t.rawOutput)
  for (const key of ['aggregated_output', 'formatted_output', 'output', 'stdout'])
    if (typeof out?.[key] === 'string' && out[key]) return out[key] as string
  if (t.terminalOutput) return t.terminalOutput
  // the output may have streamed as content while the final rawOutput has none
  return textOf(t.content)
}

function exitCodeOf(rawOutput: unknown): number | null {
  const out = record(rawOutput)
  const code = out?.exit_code ?? out?.exitCode
  return typeof code === 'number' && Number.isInteger(code) ? code : null
}

function changesOf(t: ToolCallState): { path: string; kind: 'add' | 'delete' | 'update' }[] {
  const diffs = t.content.flatMap((c) => {
    const d = c as { type: string; path?: unknown; oldText?: unknown }
    return d.type === 'diff' && typeof d.path === 'string' ? [{ path: d.path, isNew: d.oldText == null }] : []
  })
  if (diffs.length > 0)
    return diffs.map((d) => ({
      path: d.path,
      kind: t.kind === 'delete' ? 'delete' : d.isNew ? 'add' : 'update',
    }))
  return t.locations.map((l) => ({ path: l.path, kind: t.kind === 'delete' ? 'delete' : 'update' }))
}

export function textOf(content: ToolContent[]): string {
  return content
    .flatMap((c) => {
      if (c.type !== 'content' || !('content' in c)) return []
      const block = c.content as { type: string; text?: unknown }
      return block.type === 'text' && typeof block.text === 'string' ? [block.text] : []
    })
    .join('\n')
}
