import { AppError } from '../../protocol/errors.js'
import type { AgentEvent } from '../../protocol/events.js'
import type { SandboxMode } from '../../protocol/policies.js'
import { webFetchSettings } from '../claude/command.js'
import type { SessionHooks } from '../session.js'
import type { AcpLease } from './acp-pool.js'
import { AcpSession, errorMessage } from './acp-session.js'
import type { LostSession } from './lost-session.js'
import { acpSdk } from './sdk.js'

/**
 * claude-agent-acp loads the workspace's `.claude/settings.json`, `settings.local.json` and `.mcp.json` unless told
 * otherwise (their hooks and MCP servers run commands outside its permission mode, and a workspace is written by
 * agents and repositories): only the user's settings, no MCP server but the client's (none). Its session options
 * are read from `_meta.claudeCode.options`; other agents ignore the field.
 */
const workspaceConfigOff = { settingSources: ['user'], strictMcpConfig: true }

/**
 * How a session is opened: `loadId` loads that session; `workspaceSettings` (CLAUDE_WORKSPACE_SETTINGS) lets the
 * workspace's configuration load; `webFetchPreflight` (CLAUDE_WEBFETCH_PREFLIGHT) leaves claude-agent-acp's WebFetch
 * asking api.anthropic.com about each domain (else its `settings` skip that: claude/command.ts webFetchSettings).
 */
export interface AcpOpenOptions {
  loadId?: string
  workspaceSettings?: boolean
  webFetchPreflight?: boolean
  /** claude-agent-acp: Claude Code rules allowed without asking (what the session's `accept_for_session` allowed). */
  allowedTools?: readonly string[]
  /**
   * With `loadId`: when the agent cannot load it (no `loadSession`, or it answered `session/load` with an error: it
   * does not know the session, its history is gone), a new session is opened instead, and what this gives (a
   * `context_lost` notice, lost-session.ts; undefined when the session had no history to lose) is what its next
   * turn says first. Absent: the load's error stands.
   */
  newWhenLost?: (lost: LostSession) => AgentEvent | undefined
  /**
   * With `newWhenLost`: whether the agent's own record of `loadId` is still there (claude-agent-acp: its Claude
   * conversation file). claude-agent-acp answers a load it cannot do with the same error whether the conversation
   * is gone or the Claude Code it started to resume it died at start-up: a session whose record is there is not
   * lost, its load's error stands (the turn fails, saying so; the next one loads it again).
   */
  historyKept?: (loadId: string) => Promise<boolean>
  /** With `loadId`: what is done before the load (gemini: its record kept from the load's own fresh start). */
  beforeLoad?: (loadId: string) => Promise<void>
  /**
   * With `loadId`: the agent answers `session/load` before it replays the history (Gemini CLI): the session listens
   * once a request sent after that answer is answered (gemini-session-load.ts), so the replay is no turn's.
   */
  replaysAfterAnswer?: boolean
}

/** claude-agent-acp's session options (`_meta.claudeCode.options`), if any. */
function claudeCodeMeta({ workspaceSettings, webFetchPreflight, allowedTools }: AcpOpenOptions): {
  _meta?: Record<string, unknown>
} {
  const options = {
    ...(workspaceSettings ? {} : workspaceConfigOff),
    ...(webFetchPreflight ? {} : { settings: webFetchSettings }),
    ...(allowedTools?.length ? { allowedTools: [...allowedTools] } : {}),
  }
  return Object.keys(options).length > 0 ? { _meta: { claudeCode: { options } } } : {}
}

/** Time limit of `session/new` / `session/load` (not of turns); `initialize` is awaited within it too. */
const setupTimeoutMs = 60_000

/**
 * `session/new` (or `session/load` of `loadId`) in `cwd` on an initialized agent process, its file writes allowed
 * by `sandbox` (write-grants.ts); the lease is given back (at once) when either fails, and the failure is an
 * `agent_failed` AppError.
 */
export async function openAcpSession(
  agentId: string,
  leased: Promise<AcpLease>,
  { cwd, sandbox }: { cwd: string; sandbox: SandboxMode },
  hooks: SessionHooks,
  open: AcpOpenOptions = {},
): Promise<AcpSession> {
  const { loadId, newWhenLost } = open
  const meta = claudeCodeMeta(open)
  const options = { cancellationSignal: AbortSignal.timeout(setupTimeoutMs), stopWaitingOnCancel: true }
  let lease: AcpLease | undefined
  try {
    lease = await leased
    const { agent } = lease
    let lost: string | undefined
    if (loadId) {
      const loaded = await loadSession(
        agentId,
        lease,
        loadId,
        { cwd, mcpServers: [], ...meta },
        options,
        open,
      ).catch(async (err: unknown) => {
        // only an answer of the agent's own (it runs, it does not know the session) is taken for lost history
        if (!newWhenLost || !isAgentAnswer(err)) throw err
        if (await open.historyKept?.(loadId)) throw notLoaded(agentId, loadId, err)
        return errorMessage(err)
      })
      if (loaded === true) return new AcpSession(lease, loadId, cwd, sandbox, hooks, agentId)
      lost = loaded
    }
    const created = await agent.connection.agent.request(
      'session/new',
      { cwd, mcpServers: [], ...meta },
      options,
    )
    const session = new AcpSession(lease, created.sessionId, cwd, sandbox, hooks, agentId)
    const notice =
      loadId !== undefined && lost !== undefined
        ? newWhenLost?.({ loadId, why: lost, newId: created.sessionId })
        : undefined
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

/**
 * A request no agent knows: its answer (an error) comes after everything the agent wrote before it read it (an
 * agent that replays a loaded session's history after answering the load: `replaysAfterAnswer`).
 */
const replayBarrier = '_agentGateway/replayed'

/** `session/load` of `loadId` (true), refused when the agent cannot load sessions. */
async function loadSession(
  agentId: string,
  { agent, init }: AcpLease,
  loadId: string,
  params: { cwd: string; mcpServers: []; _meta?: Record<string, unknown> },
  options: { cancellationSignal: AbortSignal; stopWaitingOnCancel: boolean },
  { beforeLoad, replaysAfterAnswer }: AcpOpenOptions,
): Promise<true> {
  if (!init.agentCapabilities?.loadSession)
    throw new AppError('invalid_request', `${agentId} cannot load a previous session`)
  await beforeLoad?.(loadId)
  // the history the agent replays arrives before the session listens: not a turn's events
  await agent.connection.agent.request('session/load', { sessionId: loadId, ...params }, options)
  // its answer, error or not, says the replay is over (a closed connection fails the session's first turn)
  if (replaysAfterAnswer)
    await agent.connection.agent.request(replayBarrier, {}, options).catch(() => undefined)
  return true
}

/** A load that failed though the session's record is still there: not a lost session, the agent's failure. */
function notLoaded(agentId: string, loadId: string, err: unknown): AppError {
  return new AppError(
    'agent_failed',
    `${agentId} could not load the session ${loadId} (${errorMessage(err)}), though its conversation is still ` +
      'there: the agent failed to resume it, so the session is not started anew (the next turn loads it again)',
    undefined,
    { cause: err },
  )
}

/** Whether `err` is the agent's own answer (a JSON-RPC error, or our refusal of a load it cannot do). */
const isAgentAnswer = (err: unknown): boolean =>
  err instanceof AppError || err instanceof acpSdk().RequestError
