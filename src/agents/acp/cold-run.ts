import { abortReason } from '../../process/runner.js'
import type { AgentEvent } from '../../protocol/events.js'
import type { EndReason } from '../../protocol/outcome.js'
import type { RunRequest } from '../driver.js'
import { processStarted } from '../process-run.js'
import type { AgentSession } from '../session.js'
import type { AcpProcess } from './acp-process.js'
import { errorMessage } from './acp-session.js'
import { acpRunCompleted, type OneShotTurn, runInput } from './one-shot.js'

/**
 * A one-shot run on an agent process of its own (`agent`, just spawned): `run.started` with its pid, the
 * session `open` starts on it, one `session/prompt`, then the process is ended and `run.completed` reports
 * the turn's result. Timeout, cancel and a reader that stops early end the process (its whole group).
 */
export async function* acpColdRun(
  agentId: string,
  agent: AcpProcess,
  open: () => Promise<AgentSession>,
  req: RunRequest,
  signal: AbortSignal,
): AsyncGenerator<AgentEvent> {
  const turn: OneShotTurn = { ok: false, error: null, finalResponse: null, endedByAgent: false }
  // timeout and abort are recorded here first, so a turn they end is not taken for the agent's own end
  let stoppedBy: EndReason | undefined
  const stop = (reason: EndReason) => {
    stoppedBy ??= reason
    agent.proc.terminate(reason)
  }
  const timer = req.timeoutMs ? setTimeout(() => stop('timed_out'), req.timeoutMs) : undefined
  const onAbort = () => stop(abortReason(signal))
  if (signal.aborted) onAbort()
  else signal.addEventListener('abort', onAbort, { once: true })
  let consumed = false
  try {
    yield processStarted(agentId, agent.launch.command, await agent.proc.started)
    const session = await open()
    yield { type: 'agent.session', agent: agentId, agentSessionId: session.agentSessionId }
    for await (const ev of session.turn(runInput(req), new AbortController().signal)) {
      if (ev.type === 'item.completed' && ev.item.type === 'agent_message') turn.finalResponse = ev.item.text
      if (ev.type === 'turn.completed') turn.ok = ev.status !== 'interrupted'
      if (ev.type === 'turn.failed') turn.error = ev.error
      if (ev.type === 'turn.completed' || ev.type === 'turn.failed')
        turn.endedByAgent = !agent.exited && stoppedBy === undefined
      yield ev
    }
    consumed = true
  } catch (err) {
    turn.error = errorMessage(err)
    consumed = true
  } finally {
    if (timer) clearTimeout(timer)
    signal.removeEventListener('abort', onAbort)
    // a consumer that stopped early: the process group must not outlive the run
    if (!consumed) stop('client_gone')
  }
  // An agent that failed before its turn ended (crashed at start, not in the image) is ending by itself:
  // let it, so its own outcome is reported rather than the gateway's stop (`cancelled`) racing it.
  const failedEarly = turn.error !== null && !turn.endedByAgent && stoppedBy === undefined
  const outcome = await (failedEarly ? agent.close() : agent.terminate('cancelled'))
  yield acpRunCompleted(outcome, turn)
}
