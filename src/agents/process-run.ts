import type { Writable } from 'node:stream'
import { onText, readLines } from '../process/lines.js'
import type { LaunchSpec, ProcessOutcome, ProcessRunner } from '../process/runner.js'
import type { AgentEvent } from '../protocol/events.js'
import type { Usage } from '../protocol/outcome.js'
import { processEnded, runCompletedAfter } from '../protocol/run-completed.js'
import { OutputQueue } from './output-queue.js'

/** Maps one agent's stdout lines to normalized events and remembers what the outcome needs. */
export interface LineMapper {
  map(line: string): AgentEvent[]
  finalResponse(): string | null
  usage(): Usage | null
  /** The agent's own failure message (e.g. turn.failed): the run failed even if the exit code is 0. */
  failure(): string | null
  /** The last error the agent reported without failing (explains a non-zero exit). */
  lastError?(): string | null
}

export interface ProcessRunSpec {
  agent: string
  spawn: Omit<LaunchSpec, 'signal'>
  /** Where it runs (a local process group, a container). */
  runner: ProcessRunner
  /** `lines`: stdout is JSONL for `mapper`; `text`: stdout is passed through as `output` events. */
  stdout: { mode: 'lines'; mapper: LineMapper } | { mode: 'text' }
  /** Removes the agent's own noise from stderr text (e.g. codex's helper-binary warnings). */
  stderrFilter?: (text: string) => string
  /** Called once the process has ended (temp files, ...). */
  cleanup?: () => Promise<void> | void
  /** Given the process's stdin as it starts (with `spawn.stdin` `{ keepOpen: true }`): a peer that talks to it. */
  onStdin?: (stdin: Writable) => void
}

const stderrTailChars = 4000

/**
 * Runs one agent process and yields its events: `run.started`, the mapped stdout lines and stderr output
 * in arrival order, then exactly one `run.completed` that records the outcome as data.
 *
 * What it read and the consumer has not taken is bounded (OutputQueue): a consumer that waits (its events wait for
 * the store: EventPipe) or does not pull stops the reading of the process's output, so the agent blocks on its
 * write, until it takes them. Ending the run (its signal, its timeout, the consumer leaving) ends the process
 * whether its output is read or not.
 */
export async function* runProcess(spec: ProcessRunSpec, signal: AbortSignal): AsyncGenerator<AgentEvent> {
  const proc = spec.runner.start({ ...spec.spawn, signal })
  spec.onStdin?.(proc.stdin)
  const queue = new OutputQueue()
  let stderrTail = ''
  const mapper = spec.stdout.mode === 'lines' ? spec.stdout.mapper : undefined

  // Raw output goes from each read straight onto the queue (onText: no async iterator per chunk); a stream read so
  // is paused while the queue is full, a line reader waits for room.
  const pumpStdout = async () => {
    if (mapper)
      for await (const line of readLines(proc.stdout)) {
        for (const ev of mapper.map(line)) queue.push(ev)
        const room = queue.room()
        if (room) await room
      }
    else {
      queue.hold(proc.stdout)
      await onText(proc.stdout, (data) => queue.push({ type: 'output', stream: 'stdout', data }))
    }
  }
  queue.hold(proc.stderr)
  const pumpStderr = () =>
    onText(proc.stderr, (chunk) => {
      const data = spec.stderrFilter ? spec.stderrFilter(chunk) : chunk
      if (!data) return
      stderrTail = (stderrTail + data).slice(-stderrTailChars)
      queue.push({ type: 'output', stream: 'stderr', data })
    })
  const finished = Promise.all([pumpStdout().catch(() => {}), pumpStderr().catch(() => {}), proc.done]).then(
    async ([, , outcome]) => {
      await Promise.resolve(spec.cleanup?.()).catch(() => {})
      return outcome
    },
  )
  finished.finally(() => queue.close())

  try {
    yield processStarted(spec.agent, spec.spawn.command, await proc.started)
    for await (const ev of queue) yield ev
  } finally {
    // The consumer may stop early (client gone): the process group must not outlive the run, and what it still
    // writes is read and dropped (its output held, it would not close, nor its run end).
    proc.terminate('client_gone')
    queue.release()
  }
  const outcome = await finished
  yield completion(outcome, mapper, stderrTail)
}

function completion(outcome: ProcessOutcome, mapper: LineMapper | undefined, stderrTail: string): AgentEvent {
  const failure = mapper?.failure() ?? null
  return runCompletedAfter(outcome, {
    ok: outcome.exitCode === 0 && !failure,
    finalResponse: mapper?.finalResponse() ?? null,
    usage: mapper?.usage() ?? null,
    error: outcome.error ?? failure ?? mapper?.lastError?.() ?? stderrError(outcome, stderrTail),
  })
}

/**
 * A failed run's error from its stderr, when the agent said nothing: its last lines; for a process killed by a
 * signal (kill -9, the OOM killer) the signal first, since what it printed before (gemini's start-up warnings) is
 * not why it ended.
 */
function stderrError(outcome: ProcessOutcome, stderrTail: string): string | undefined {
  const last = lastLines(stderrTail)
  if (!outcome.signal) return last || undefined
  return `${processEnded(outcome)}${last ? `; its stderr ended: ${last}` : ''}`
}

const lastLines = (text: string) => text.trim().split('\n').slice(-5).join('\n')

/** `run.started` of a run that is one agent process: its command and, once spawned, its pid. */
export function processStarted(agent: string, command: string, pid: number | undefined): AgentEvent {
  return { type: 'run.started', agent, command, ...(pid !== undefined ? { pid } : {}) }
}

/** What a LineMapper learns of how the run ended, as it maps lines. */
export interface MapperOutcome {
  finalResponse: string | null
  usage: Usage | null
  failure: string | null
  lastError: string | null
}

export const mapperOutcome = (): MapperOutcome => ({
  finalResponse: null,
  usage: null,
  failure: null,
  lastError: null,
})

/** Notes what one of a turn's events says of the run's outcome: the last agent message, usage, a failure. */
export function observeTurnEvent(out: MapperOutcome, ev: AgentEvent): void {
  if (ev.type === 'item.completed' && ev.item.type === 'agent_message') out.finalResponse = ev.item.text
  if (ev.type === 'turn.completed') out.usage = ev.usage ?? null
  if (ev.type === 'turn.failed') out.failure = ev.error
}

/** A mapper's outcome as the LineMapper readers. */
export function outcomeReaders(out: MapperOutcome): Omit<LineMapper, 'map'> {
  return {
    finalResponse: () => out.finalResponse,
    usage: () => out.usage,
    failure: () => out.failure,
    lastError: () => out.lastError,
  }
}
