import { AppError } from '../../protocol/errors.js'
import type { AgentEvent } from '../../protocol/events.js'
import { contextLost } from '../claude/context-lost.js'
import type { SessionHooks } from '../session.js'
import type { AcpLease } from './acp-pool.js'
import { AcpSession, errorMessage } from './acp-session.js'

/**
 * claude-agent-acp loads the workspace's `.claude/settings.json`, `settings.local.json` and `.mcp.json` unless told
 * otherwise (their hooks and MCP servers run commands outside its permission mode, and a workspace is written by
 * agents and repositories): only the user's settings, no MCP server but the client's (none). Its session options
 * are read from `_meta.claudeCode.options`; other agents ignore the field.
 */
const workspaceConfigOff = { settingSources: ['user'], strictMcpConfig: true }

/** How a session is opened: `loadId` loads that session; `workspaceSettings` (CLAUDE_WORKSPACE_SETTINGS) lets the workspace's configuration load. */
export interface AcpOpenOptions {
  loadId?: string
  /**
   * claude-agent-acp: when the agent has no conversation `loadId` to load (`session/load` answers "Resource not
   * found"), a new session goes on instead, its first turn saying so (the `context_lost` notice).
   */
  newWhenGone?: boolean
  workspaceSettings?: boolean
  /** claude-agent-acp: Claude Code rules allowed without asking (what the session's `accept_for_session` allowed). */
  allowedTools?: readonly string[]
}

/** claude-agent-acp's session options (`_meta.claudeCode.options`), if any. */
function claudeCodeMeta({ workspaceSettings, allowedTools }: AcpOpenOptions): {
  _meta?: Record<string, unknown>
} {
  const options = {
    ...(workspaceSettings ? {} : workspaceConfigOff),
    ...(allowedTools?.length ? { allowedTools: [...allowedTools] } : {}),
  }
  return Object.keys(options).length > 0 ? { _meta: { claudeCode: { options } } } : {}
}

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
  open: AcpOpenOptions = {},
): Promise<AcpSession> {
  const { loadId } = open
  const meta = claudeCodeMeta(open)
  const options = { cancellationSignal: AbortSignal.timeout(setupTimeoutMs), stopWaitingOnCancel: true }
  let lease: AcpLease | undefined
  try {
    lease = await leased
    const { agent, init } = lease
    const newSession = async () =>
      (await agent.connection.agent.request('session/new', { cwd, mcpServers: [], ...meta }, options))
        .sessionId
    let sessionId: string
    let notice: AgentEvent | undefined
    if (loadId) {
      if (!init.agentCapabilities?.loadSession)
        throw new AppError('invalid_request', `${agentId} cannot load a previous session`)
      try {
        // the history the agent replays arrives before the session listens: not a turn's events
        await agent.connection.agent.request(
          'session/load',
          { sessionId: loadId, cwd, mcpServers: [], ...meta },
          options,
        )
        sessionId = loadId
      } catch (err) {
        if (!open.newWhenGone || !notFound(err, loadId)) throw err
        // Claude has no conversation of this id (claude-agent-acp reads it from Claude's home): every later load
        // would fail the same way, so the session goes on in a new conversation, and its next turn says so first
        sessionId = await newSession()
        notice = contextLost(loadId, 'load', `the session goes on in a new conversation, ${sessionId}`)
      }
    } else sessionId = await newSession()
    const session = new AcpSession(lease, sessionId, cwd, hooks, agentId)
    if (notice) session.noticeOnNextTurn(notice)
    return session
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

/** The agent's answer that it has no session `sessionId` (ACP's "Resource not found", -32002, of that session). */
function notFound(err: unknown, sessionId: string): boolean {
  const { code, data } = (err ?? {}) as { code?: unknown; data?: { sessionId?: unknown } | null }
  return code === -32002 && data?.sessionId === sessionId
}
