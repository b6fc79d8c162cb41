import { AppError } from '../../protocol/errors.js'
import type { SessionHooks } from '../session.js'
import type { AcpLease } from './acp-pool.js'
import { AcpSession, errorMessage } from './acp-session.js'

/** Time limit of `session/new` / `session/load` (not of turns); `initialize` is awaited within it too. */
const setupTimeoutMs = 60_000

/**
 * `session/new` (or `session/load` of `loadId`) in `cwd` on an initialized agent process; the lease is given
 * back (at once) when either fails, and the failure is an `agent_failed` AppError.
 */
export async function openAcpSession(
  agentId: string,
  leased: Promise<AcpLease>,
  cwd: string,
  hooks: SessionHooks,
  loadId?: string,
): Promise<AcpSession> {
  const options = { cancellationSignal: AbortSignal.timeout(setupTimeoutMs), stopWaitingOnCancel: true }
  let lease: AcpLease | undefined
  try {
    lease = await leased
    const { agent, init } = lease
    let sessionId: string
    if (loadId) {
      if (!init.agentCapabilities?.loadSession)
        throw new AppError('invalid_request', `${agentId} cannot load a previous session`)
      // the history the agent replays arrives before the session listens: not a turn's events
      await agent.connection.agent.request(
        'session/load',
        { sessionId: loadId, cwd, mcpServers: [] },
        options,
      )
      sessionId = loadId
    } else {
      const created = await agent.connection.agent.request('session/new', { cwd, mcpServers: [] }, options)
      sessionId = created.sessionId
    }
    return new AcpSession(lease, sessionId, cwd, hooks, agentId)
  } catch (caught) {
    const err = lease && !(caught instanceof AppError) ? await lease.agent.failureOf(caught) : caught
    await lease?.release(null, { now: true })
    if (err instanceof AppError) throw err
    throw new AppError(
      'agent_failed',
      `${agentId} could not start a session: ${errorMessage(err)}`,
      undefined,
      {
        cause: err,
      },
    )
  }
}
