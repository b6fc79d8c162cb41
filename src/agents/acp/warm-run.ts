import { abortReason } from '../../process/runner.js'
import type { AgentEvent } from '../../protocol/events.js'
import type { EndReason } from '../../protocol/outcome.js'
import { runCompletedAfter } from '../../protocol/run-completed.js'
import type { RunRequest } from '../driver.js'
import type { AgentSession } from '../session.js'
import { errorMessage } from './acp-session.js'

/** Whether a one-shot ACP run can be a session on a kept-ready agent process: not in a container of its own. */
export function acpWarmable(req: RunRequest): boolean {
  return req.isolation !== 'container' && req.image === undefined
}

/**
 * A one-shot run as a session of its own on an already initialized agent process (AcpPool, warm): one
 * `session/prompt`, then the session is closed and the process stays ready for the next run. It yields what
 * the cold run yields: `run.started` first (naming no process: none is the run's own), the turn and its items,
 * exactly one `run.completed` last. Approvals are declined or accepted by the run's sandbox (`hooks` of
 * `open`); aborting (cancel, client gone, timeout) is `session/cancel`, which ends the turn.
 */
export async function* acpWarmRun(
  agent: string,
  open: () => Promise<AgentSession>,
  req: RunRequest,
  signal: AbortSignal,
): AsyncGenerator<AgentEvent> {
  yield { type: 'run.started', agent }
  const stop = new AbortController()
  const onAbort = () => stop.abort(abortReason(signal))
  signal.addEventListener('abort', onAbort, { once: true })
  if (signal.aborted) onAbort()
  const timer =
    req.timeoutMs != null
      ? setTimeout(() => stop.abort('timed_out' satisfies EndReason), req.timeoutMs)
      : undefined
  let finalResponse: string | null = null
  let ok = false
  let failure: string | null = null
  let session: AgentSession | undefined
  try {
    session = await open()
    yield { type: 'agent.session', agent, agentSessionId: session.agentSessionId }
    if (stop.signal.aborted) throw new Error('the run was stopped before its prompt')
    for await (const ev of session.turn([{ type: 'text', text: req.prompt }], stop.signal)) {
      if (ev.type === 'item.completed' && ev.item.type === 'agent_message') finalResponse = ev.item.text
      if (ev.type === 'turn.completed') ok = ev.status !== 'interrupted'
      if (ev.type === 'turn.failed') failure = ev.error
      yield ev
    }
  } catch (err) {
    failure = errorMessage(err)
  } finally {
    clearTimeout(timer)
    signal.removeEventListener('abort', onAbort)
    await session?.close().catch(() => {})
  }
  const reason: EndReason = stop.signal.aborted ? abortReason(stop.signal) : 'exited'
  ok &&= failure === null
  yield runCompletedAfter(
    { exitCode: reason === 'exited' ? (ok ? 0 : 1) : null, signal: null, reason },
    { ok, finalResponse, usage: null, ...(failure ? { error: failure } : {}) },
  )
}
