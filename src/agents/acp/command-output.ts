import type { ToolContent } from './wire.js'

/**
 * The output of an ACP command as the gateway gathers it across a tool call's updates. An agent may report it
 * three ways, each of which can fall short alone:
 * - `rawOutput` (codex-acp: codex's ExecCommandEnd, whose `aggregated_output` is the whole output, unless
 *   codex's own transcript missed chunks, or the update carries none);
 * - `_meta.terminal_output` chunks, appended (codex-acp streams every chunk, but codex skips chunks its
 *   stream fell behind on; claude-agent-acp sends the output once);
 * - `content` text (an agent without the terminal extension re-sends the whole output so far in each update).
 * Each source is kept at its fullest (a later update without it does not erase it); the item's output is the
 * longest of the whole-output reports and the streamed chunks: a shorter one is a part of the same output.
 */
export interface CommandOutput {
  /** The longest whole output a `rawOutput` carried (a string, or `aggregated_output`/`output`/`stdout`). */
  reported?: string
  /** `formatted_output`: the model's (possibly truncated) view of it, used only when nothing else came. */
  formatted?: string
  /** `_meta.terminal_output` chunks, appended in arrival order. */
  streamed?: string
  /** The last non-empty text `content` of the tool call. */
  content?: string
}

const record = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined

const nonEmpty = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined)

const longer = (a: string | undefined, b: string | undefined): string | undefined =>
  a === undefined || (b !== undefined && b.length > a.length) ? b : a

/** What one update adds to the output gathered so far. */
export function gatherOutput(
  prev: CommandOutput,
  update: { rawOutput?: unknown; chunk?: string; content?: ToolContent[] | null },
): CommandOutput {
  const next = { ...prev }
  if (update.rawOutput !== undefined) {
    const out = record(update.rawOutput)
    const whole =
      nonEmpty(update.rawOutput) ??
      nonEmpty(out?.aggregated_output) ??
      nonEmpty(out?.output) ??
      nonEmpty(out?.stdout)
    next.reported = longer(next.reported, whole)
    next.formatted = nonEmpty(out?.formatted_output) ?? next.formatted
  }
  if (update.chunk) next.streamed = (next.streamed ?? '') + update.chunk
  if (update.content) next.content = nonEmpty(textOf(update.content)) ?? next.content
  return next
}

/** Whether the item's output is the streamed chunks (they outgrew every whole-output report). */
const fromStreamed = (o: CommandOutput): boolean =>
  o.streamed !== undefined && (o.reported === undefined || o.streamed.length > o.reported.length)

/**
 * What an update's `chunk` appended to the item's output, when the output was and still is the streamed chunks
 * (gatherOutput appended it); undefined otherwise (the output changed source: compare it whole). Told by the
 * lengths alone: a command's output may be megabytes, and comparing it on every chunk made a long output's
 * mapping quadratic (4 MiB in 4 KiB chunks took 44 s and an 8 MiB one ran the gateway out of memory).
 */
export function appendedOutput(
  prev: CommandOutput | undefined,
  next: CommandOutput,
  chunk: string | undefined,
): string | undefined {
  if (!chunk || !prev || !fromStreamed(prev) || !fromStreamed(next)) return undefined
  return next.streamed!.length === prev.streamed!.length + chunk.length ? chunk : undefined
}

/** The item's `aggregatedOutput`: the fullest of what was gathered. */
export function outputText(o: CommandOutput): string {
  return longer(o.reported, o.streamed) ?? o.formatted ?? o.content ?? ''
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
