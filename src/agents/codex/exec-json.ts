import { LineSplitter } from '../../process/line-splitter.js'
import type { AgentEvent, RunCompletedEvent } from '../../protocol/events.js'
import type { SandboxMode } from '../../protocol/policies.js'

/**
 * codex exec's OWN JSONL events, as seed 002 streams them (not the normalized events): the argv of a
 * `codex exec --json` run, and its stdout turned back into codex's JSON lines.
 */

/** argv of `codex exec --json` reading the prompt on stdin; the model is one argument, so "-x" is no flag. */
export function codexExecJsonArgs(opts: {
  sandbox: SandboxMode
  model?: string | undefined
  skipGitRepoCheck: boolean
}): string[] {
  return [
    'exec',
    '--json',
    '--sandbox',
    opts.sandbox,
    ...(opts.model ? [`--model=${opts.model}`] : []),
    ...(opts.skipGitRepoCheck ? ['--skip-git-repo-check'] : []),
    '-',
  ]
}

/** One codex stdout line: the JSON text to send and its parsed form. */
export interface CodexLine {
  json: string
  event: Record<string, unknown>
}

/** How much of codex's stderr the completion carries (its end): seed 002 quotes it when codex fails. */
export const stderrKeptChars = 64 * 1024

/**
 * Turns a `cli` run's events into codex's own JSONL events: stdout chunks are split into lines (a partial
 * line waits for the rest), each line is parsed; stderr is kept aside (its last `stderrKeptChars`). Ends with
 * the run's completion and that stderr.
 */
export async function* codexOutput(
  events: AsyncIterable<AgentEvent>,
): AsyncGenerator<CodexLine | { completed: RunCompletedEvent; stderr: string }> {
  const lines = new LineSplitter()
  let stderr = ''
  for await (const ev of events) {
    if (ev.type === 'output' && ev.stream === 'stderr') {
      stderr += ev.data
      if (stderr.length > 2 * stderrKeptChars) stderr = stderr.slice(-stderrKeptChars)
    } else if (ev.type === 'output' && ev.stream === 'stdout') {
      for (const line of lines.push(ev.data)) {
        const parsed = parseCodexLine(line)
        if (parsed) yield parsed
      }
    } else if (ev.type === 'run.completed') {
      for (const line of lines.end()) {
        const parsed = parseCodexLine(line)
        if (parsed) yield parsed
      }
      yield { completed: ev, stderr: stderr.slice(-stderrKeptChars) }
    }
  }
}

/** A JSON object line as itself; any other non-blank line as {"type":"agent.raw","line"}; blank lines: null. */
export function parseCodexLine(line: string): CodexLine | null {
  const json = line.trim()
  if (!json) return null
  try {
    const event: unknown = JSON.parse(json)
    if (event && typeof event === 'object' && !Array.isArray(event))
      return { json, event: event as Record<string, unknown> }
  } catch {}
  const raw = { type: 'agent.raw', line }
  return { json: JSON.stringify(raw), event: raw }
}

/** The text of the last completed agent_message item, or null. */
export function finalResponseOf(events: Record<string, unknown>[]): string | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const ev = events[i]!
    const item = ev.type === 'item.completed' ? (ev.item as Record<string, unknown> | undefined) : undefined
    if (item?.type === 'agent_message' && typeof item.text === 'string') return item.text
  }
  return null
}
