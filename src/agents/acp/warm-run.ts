import { abortReason } from '../../process/runner.js'
import type { AgentEvent } from '../../protocol/events.js'
import type { EndReason } from '../../protocol/outcome.js'
import { runCompletedAfter } from '../../protocol/run-completed.js'
import type { RunRequest } from '../driver.js'
import { mapperOutcome, observeTurnEvent } from '../process-run.js'
import { runStop } from '../run-stop.js'
import { startedTurn } from '../started-turn.js'
import type { AcpSession } from './acp-session.js'
import { errorMessage } from './acp-session.js'
import { runInput } from './one-shot.js'

/** Whether a one-shot ACP run can be a session on a kept-ready agent process: not in a container of its own. */
export function acpWarmable(req: RunRequest): boolean {
  return req.isolation !== 'container' && req.image === undefined
}

/**
 * A one-shot run as a session of its own on an already initialized agent process (AcpPool, warm): one
 * `session/prompt`, then the session is closed and the process stays ready for the next run. It yields what
 * the cold run yields: `run.started` first (naming no process: none is the run's own), the turn and its items,
 * exactly one `run.completed` last (the session is closed after it). Approvals are declined or accepted by the run's sandbox (`hooks` of
 * `open`); aborting (cancel, client gone, timeout) is `session/cancel`, which ends the turn.
 */
export async function* acpWarmRun(
  agent: string,
  open: () => Promise<AcpSession>,
  req: RunRequest,
  signal: AbortSignal,
  /** Runs once the run's session is closed (its process counts it no more), or at once when none opened. */
  afterClose: () => void = () => {},
): AsyncGenerator<AgentEvent> {
  yield { type: 'run.started', agent }
  const stop = runStop(signal, req.timeoutMs)
  const out = mapperOutcome()
  let ok = false
  let session: AcpSession | undefined
  try {
    try {
      session = await open()
      const announce: AgentEvent = { type: 'agent.session', agent, agentSessionId: session.agentSessionId }
      // A stopped run sends no prompt; its session is still named.
      if (stop.signal.aborted) {
        yield announce
        throw new Error('the run was stopped before its prompt')
      }
      // The prompt goes out before the run's session is recorded (the agent works while the gateway stores it).
      const turn = session.turn(runInput(req), stop.signal)
      for await (const ev of startedTurn(announce, turn)) {
        observeTurnEvent(out, ev)
        if (ev.type === 'turn.completed') ok = ev.status !== 'interrupted'
        yield ev
      }
    } catch (err) {
      out.failure = errorMessage(err)
    } finally {
      stop.dispose()
    }
    const reason: EndReason = stop.signal.aborted ? abortReason(stop.signal) : 'exited'
    ok &&= out.failure === null
    yield runCompletedAfter(
      { exitCode: reason === 'exited' ? (ok ? 0 : 1) : null, signal: null, reason },
      { ok, finalResponse: out.finalResponse, usage: null, ...(out.failure ? { error: out.failure } : {}) },
    )
  } finally {
    // After run.completed, and not awaited: the run's reader stops at run.completed and waits for this
    // generator's end before it records the run, so awaiting `session/close` here would put the agent's answer
    // to it on every run's critical path. Also when the reader stops early. A turn that failed (e.g. the agent
    // never answered the cancel) may leave the process at work: it is not kept warm.
    const closing = session ? session.close(out.failure !== null).catch(() => {}) : Promise.resolve()
    void closing.then(afterClose).catch(() => {})
  }
}
