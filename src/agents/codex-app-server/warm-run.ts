import { abortReason } from '../../process/runner.js'
import type { AgentEvent } from '../../protocol/events.js'
import type { EndReason } from '../../protocol/outcome.js'
import { runCompletedAfter } from '../../protocol/run-completed.js'
import type { RunRequest } from '../driver.js'
import { mapperOutcome, observeTurnEvent } from '../process-run.js'
import { runStop } from '../run-stop.js'
import { startedTurn } from '../started-turn.js'
import type { AppServerHost } from './app-server-host.js'
import { CodexSession } from './codex-session.js'
import type { ReadyThreads } from './ready-threads.js'
import { type ThreadSettings, threadParams } from './thread-settings.js'

/** How long the end of a run waits for codex to end the commands it left running. */
const cleanupTimeoutMs = 5000

/**
 * Whether a one-shot run can be served by a thread on the running app-server with the meaning `codex exec`
 * gives it. Not: a run in a container of its own (isolation, image), an output schema or images (turns here
 * carry text only), a run that asks for the git-repo check (only exec makes it), a raw command line.
 */
export function warmable(req: RunRequest): boolean {
  return (
    req.isolation !== 'container' &&
    req.image === undefined &&
    req.raw === undefined &&
    req.outputSchema === undefined &&
    (req.images ?? []).length === 0 &&
    req.skipGitRepoCheck !== false
  )
}

/**
 * A one-shot run as a thread of its own on the already running codex app-server: one turn, then the thread is
 * unloaded (its commands ended, the app-server unsubscribed). It yields what `codex exec` yields for the same run: `run.started` first, the turn and its items,
 * exactly one `run.completed` last with the final response and usage; approvals are never asked (exec's
 * policy), the sandbox is the run's. No process is its own: `run.started` names none, and aborting (cancel,
 * client gone, timeout) interrupts the turn, which ends the commands codex started for it.
 */
export async function* warmRun(
  host: AppServerHost,
  agent: string,
  settings: ThreadSettings,
  req: RunRequest,
  signal: AbortSignal,
  ready?: ReadyThreads,
): AsyncGenerator<AgentEvent> {
  yield { type: 'run.started', agent }
  const stop = runStop(signal, req.timeoutMs)
  const out = mapperOutcome()
  const runSettings: ThreadSettings = { ...settings, approvalPolicy: 'never' }
  // the thread is started ahead for the next run with the same thread/start parameters (ready-threads.ts)
  const key = JSON.stringify(threadParams(runSettings))
  let session: CodexSession | undefined
  let endedWell = false
  // commands are what leave background terminals behind; a run that started none has none to clean
  let ranCommands = false
  try {
    try {
      const opened = (await ready?.take(key)) ?? (await host.startThread(runSettings))
      session = new CodexSession(host, opened.threadId, settings, {
        requestApproval: async () => 'decline',
      })
      // The turn starts (codex gets turn/start) before the run's thread is recorded: codex works meanwhile. Like
      // exec, codex keeps the thread's rollout: the run's agentSessionId can be resumed later.
      const announce: AgentEvent = { type: 'agent.session', agent, agentSessionId: opened.threadId }
      const turn = session.turn([{ type: 'text', text: req.prompt }], stop.signal)
      for await (const ev of startedTurn(announce, turn)) {
        // The session's own state is the gateway's business in sessions; a run has none.
        if (ev.type === 'session.status') continue
        observeTurnEvent(out, ev)
        if (ev.type === 'item.started' && ev.item.type === 'command_execution') ranCommands = true
        yield ev
      }
    } catch (err) {
      out.failure = err instanceof Error ? err.message : String(err)
    } finally {
      stop.dispose()
      // exec's commands die with its process group; here they end with the run the same way
      if (session && ranCommands && host.isLoaded(session.agentSessionId))
        await host.cleanBackgroundTerminals(session.agentSessionId, cleanupTimeoutMs).catch(() => {})
    }
    const reason: EndReason = stop.signal.aborted ? abortReason(stop.signal) : 'exited'
    const ok = out.failure === null
    endedWell = ok && !stop.signal.aborted
    yield runCompletedAfter(
      { exitCode: reason === 'exited' ? (ok ? 0 : 1) : null, signal: null, reason },
      {
        ok,
        finalResponse: out.finalResponse,
        usage: out.usage,
        ...(out.failure ? { error: out.failure } : {}),
      },
    )
  } finally {
    if (endedWell) {
      // After run.completed, not awaited: the run's reader waits for this generator's end before it records
      // the run, so the app-server's answer to thread/unsubscribe would be on every run's path. The next run
      // like this one gets a thread started now (a failing app-server, or a stopped run, starts none).
      void session?.close().catch(() => {})
      ready?.prepare(key, () => host.startThread(runSettings))
    } else {
      // a reader that stopped early, a failed or stopped turn: the turn is interrupted and the thread let go
      await session?.close().catch(() => {})
    }
  }
}
