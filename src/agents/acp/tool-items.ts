import type { Item } from '../../protocol/items.js'
import { type CommandOutput, gatherOutput, outputText, textOf } from './command-output.js'
import type { ToolCallFields, ToolContent } from './wire.js'

/** What the gateway knows of one ACP tool call (merged from `tool_call` and its `tool_call_update`s). */
export interface ToolCallState {
  id: string
  title?: string
  kind?: string
  status?: NonNullable<ToolCallFields['status']>
  content: ToolContent[]
  locations: { path: string }[]
  rawInput?: unknown
  rawOutput?: unknown
  /** The agent's name of the tool (claude-agent-acp: Claude Code's, `_meta.claudeCode.toolName`). */
  toolName?: string
  /** The gateway's approval hook declined it. */
  declined?: boolean
  /** The command output gathered from every update (see command-output.ts). */
  output: CommandOutput
  /** The exit code from the terminal extension (`_meta.terminal_exit`). */
  terminalExitCode?: number | null
  /** The agent gave it a terminal (terminal content or `_meta.terminal_*`): a command, whatever its kind says. */
  terminal?: boolean
}

export function mergeToolCall(prev: ToolCallState | undefined, f: ToolCallFields): ToolCallState {
  const next: ToolCallState = prev
    ? { ...prev }
    : { id: f.toolCallId, content: [], locations: [], output: {} }
  if (f.title) next.title = f.title
  if (f.kind) next.kind = f.kind
  // a call that ended stays ended: a `tool_call` or update arriving after its end does not reopen it
  if (f.status && !(ended(next) && !ended({ status: f.status }))) next.status = f.status
  if (f.content) next.content = f.content
  if (f.locations) next.locations = f.locations
  if (f.rawInput !== undefined) next.rawInput = f.rawInput
  if (f.rawOutput !== undefined) next.rawOutput = f.rawOutput
  if (f._meta?.claudeCode?.toolName) next.toolName = f._meta.claudeCode.toolName
  next.output = gatherOutput(next.output, {
    rawOutput: f.rawOutput,
    chunk: f._meta?.terminal_output?.data,
    content: f.content,
  })
  if (f._meta?.terminal_exit) next.terminalExitCode = f._meta.terminal_exit.exit_code ?? null
  if (f._meta?.terminal_output || f._meta?.terminal_exit || f._meta?.terminal_info) next.terminal = true
  if (f.content?.some((c) => c.type === 'terminal')) next.terminal = true
  return next
}

/** Whether the agent reported the call's end (a cancelled call ended: ACP v2). */
export const ended = (t: Pick<ToolCallState, 'status'>): boolean =>
  t.status === 'completed' || t.status === 'failed' || t.status === 'cancelled'

type ItemStatus = 'in_progress' | 'completed' | 'failed' | 'declined'

/**
 * ACP status -> item status; a call the hook declined is `declined` whatever the agent says. Items have no
 * cancelled status: a cancelled call (ACP v2) is `failed`, its error says it was cancelled; a `paused` one is still
 * `in_progress` (not ended: it may resume, and a turn that ends with it open ends it as any open call).
 */
export function itemStatus(t: ToolCallState): ItemStatus {
  if (t.declined && t.status !== 'completed') return 'declined'
  if (t.status === 'completed' || t.status === 'failed') return t.status
  if (t.status === 'cancelled') return 'failed'
  return 'in_progress'
}

/**
 * The status of a call still open when the turn ended (the agent never reported its end): declined if the hook
 * declined it; by its exit code if its terminal reported one; else failed (what it did is unknown).
 */
export function statusAtTurnEnd(t: ToolCallState): Exclude<ItemStatus, 'in_progress'> {
  const status = itemStatus(t)
  if (status !== 'in_progress') return status
  if (typeof t.terminalExitCode === 'number') return t.terminalExitCode === 0 ? 'completed' : 'failed'
  return 'failed'
}

/**
 * The normalized item of a tool call: `execute` (or a call given a terminal, before its kind is known) ->
 * command_execution, `edit`/`delete` -> file_change.
 */
export function toolItem(t: ToolCallState, status: ItemStatus = itemStatus(t)): Item {
  if (t.kind === 'execute' || (!t.kind && t.terminal))
    return {
      id: t.id,
      type: 'command_execution',
      command: commandOf(t),
      aggregatedOutput: outputText(t.output),
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
    ...(status === 'failed' ? { error: textOf(t.content) || failure(t) } : {}),
    status,
  }
}

const failure = (t: ToolCallState): string =>
  t.status === 'cancelled'
    ? 'the tool call was cancelled'
    : ended(t)
      ? 'the tool call failed'
      : 'the agent did not report the end of the tool call before the turn ended'

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

function exitCodeOf(rawOutput: unknown): number | null {
  const out = record(rawOutput)
  const code = out?.exit_code ?? out?.exitCode
  return typeof code === 'number' && Number.isInteger(code) ? code : null
}

function changesOf(t: ToolCallState): { path: string; kind: 'add' | 'delete' | 'update'; diff?: string }[] {
  const diffs = t.content.flatMap((c) => {
    const d = c as { type: string; path?: unknown; oldText?: unknown; _meta?: { kind?: unknown } | null }
    // a new file: no old text, or Gemini CLI's `add` (with an empty old text)
    const isNew = d.oldText == null || d._meta?.kind === 'add'
    return d.type === 'diff' && typeof d.path === 'string' ? [{ path: d.path, isNew }] : []
  })
  if (diffs.length > 0)
    return diffs.map((d) => ({
      path: d.path,
      kind: t.kind === 'delete' ? 'delete' : d.isNew ? 'add' : 'update',
    }))
  const patch = unifiedDiffOf(t.rawInput)
  return t.locations.map((l) => ({
    path: l.path,
    kind: t.kind === 'delete' ? 'delete' : (patch?.kind ?? 'update'),
    ...(patch && t.locations.length === 1 ? { diff: patch.diff } : {}),
  }))
}

/**
 * copilot's edit: no diff content, its change as a unified diff in `rawInput` (`{fileName, diff}`), `/dev/null` on
 * the side of a file it creates or deletes.
 */
function unifiedDiffOf(rawInput: unknown): { diff: string; kind: 'add' | 'delete' | 'update' } | undefined {
  const diff = record(rawInput)?.diff
  if (typeof diff !== 'string' || !/^@@ /m.test(diff)) return undefined
  const kind = /^--- (a\/)?dev\/null$/m.test(diff)
    ? 'add'
    : /^\+\+\+ (b\/)?dev\/null$/m.test(diff)
      ? 'delete'
      : 'update'
  return { diff: diff.replace(/^\n+/, ''), kind }
}
