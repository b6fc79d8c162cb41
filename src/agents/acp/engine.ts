import type { Config } from '../../config/load.js'
import type { ProcessRunner } from '../../process/runner.js'
import type { AgentEvent } from '../../protocol/events.js'
import type { SandboxMode } from '../../protocol/policies.js'
import { claudeConversationExists } from '../claude/conversation-file.js'
import type { RunRequest, WarmPoolCounts } from '../driver.js'
import { claudeCodeRules } from '../exact-call-rule.js'
import { geminiHome } from '../gemini/home.js'
import type { AgentSession, SessionHooks, SessionRequest } from '../session.js'
import type { AcpSession } from './acp-session.js'
import type { AcpAgentSpec } from './agent-spec.js'
import { type ClaudeSessionHooks, claudeSessionRules } from './claude-session-rules.js'
import { codexAcpCommandRules } from './codex-acp-command-rules.js'
import { acpColdRun } from './cold-run.js'
import { copilotEditRules } from './copilot-edit-rules.js'
import { geminiLoadOptions } from './gemini-session-load.js'
import { type LostSession, lostSessionNotice } from './lost-session.js'
import { oneShotApprovals } from './one-shot-approvals.js'
import { type AcpOpenOptions, openAcpSession } from './open-session.js'
import { type ReadyFor, ReadySessions } from './ready-sessions.js'
import { ReopeningAcpSession } from './reopening-session.js'
import { sandboxApprovals } from './sandbox-approvals.js'
import { loadAcpSdk } from './sdk.js'
import { AcpLeases, warmKeepMs as defaultWarmKeepMs } from './session-leases.js'
import { acpWarmable, acpWarmRun } from './warm-run.js'

/**
 * The presets whose permission requests the gateway answers by the session's sandbox and approval policy
 * (sandbox-approvals.ts): they have no sandbox or policy of their own that the gateway sets. claude-agent-acp runs
 * Claude Code in its permission mode `default` (reads run, everything else is asked); its ACP session modes
 * (`default`, `acceptEdits`, `plan`, `auto`, `bypassPermissions`) have no mode that refuses without asking (`dontAsk`
 * is not offered), so `never` is the gateway's answers too.
 */
const answeredByTheGateway: ReadonlySet<AcpAgentSpec['flavor']> = new Set([
  'gemini',
  'copilot',
  'claude-agent-acp',
])

/** Nobody can answer a permission request in a one-shot run: codex-acp is told not to ask (like codex exec). */
const oneShotLaunch = { approvalPolicy: 'never' } as const

/** A session's hooks; claude-agent-acp's also say what its `accept_for_session` answers allowed so far. */
type AcpSessionHooks = SessionHooks & Partial<Pick<ClaudeSessionHooks, 'allowedRules'>>

/**
 * What an `acp:<name>` driver (driver.ts) does once it runs something: its one-shot runs (on a process kept ready for
 * them, ACP_WARM_RUNS, warm-run.ts, the session itself opened ahead by the previous run like it, ready-sessions.ts;
 * else on a process of its own, cold-run.ts) and its sessions, whose processes sessions started the same way share
 * (AcpLeases, AcpPool). Loaded with the driver's first run or session (driver.ts), not with the server: an idle
 * gateway, or one that never runs an ACP agent, does not hold these modules (docs/ARCHITECTURE.md, "Start").
 */
export class AcpEngine {
  private readonly leases: AcpLeases
  private readonly ready: ReadySessions
  /** What every session of this agent is opened with (CLAUDE_WORKSPACE_SETTINGS). */
  private readonly openOptions: AcpOpenOptions

  constructor(
    private readonly id: string,
    private readonly config: Config,
    private readonly spec: AcpAgentSpec,
    private readonly serverEnv: NodeJS.ProcessEnv,
    runner: ProcessRunner,
    /** How long a process kept ready for one-shot runs (and the session opened on it) waits for the next run. */
    warmKeepMs = defaultWarmKeepMs,
  ) {
    this.leases = new AcpLeases(config, spec, serverEnv, runner, warmKeepMs)
    this.ready = new ReadySessions(warmKeepMs)
    this.openOptions = {
      workspaceSettings: config.CLAUDE_WORKSPACE_SETTINGS,
      webFetchPreflight: config.CLAUDE_WEBFETCH_PREFLIGHT,
    }
  }

  get warmPool(): WarmPoolCounts {
    return this.ready.counts
  }

  /** The sessions opened ahead of time for the next one-shot runs (agent session id, cwd, sandbox). */
  get readySessions(): ({ agentSessionId: string } & ReadyFor)[] {
    return [...this.ready.opened].map(([agentSessionId, readyFor]) => ({ agentSessionId, ...readyFor }))
  }

  /** Agent processes sessions share now. */
  get sharedProcesses(): number {
    return this.leases.sharedProcesses
  }

  async *run(req: RunRequest, signal: AbortSignal): AsyncGenerator<AgentEvent> {
    const hooks = oneShotApprovals(req.sandbox, req.cwd)
    const at = { cwd: req.cwd, sandbox: req.sandbox ?? this.config.CODEX_SANDBOX }
    // With a default container image (Docker mode) every run gets a container of its own: never a kept process.
    const containersByDefault = (this.config.CONTAINER_IMAGE ?? this.config.CODEX_DOCKER_IMAGE) !== undefined
    const warm = this.config.ACP_WARM_RUNS && this.config.ACP_SESSIONS_PER_PROCESS > 1
    if (warm && !containersByDefault && acpWarmable(req)) {
      // where it runs, computed once: the ready session's key, the lease and the room for the next one
      const place = await this.leases.place(req, oneShotLaunch)
      const key = this.leases.warmKey(place)
      const openNew = () =>
        openAcpSession(this.id, this.leases.leaseAt(place, true), at, hooks, this.openOptions)
      const open = async () => {
        const ready = key ? await this.ready.take(key) : null
        if (!ready) return openNew()
        ready.hooks = hooks
        ready.sandbox = at.sandbox
        return ready
      }
      // The next run started like this one finds its session opened (on the process this one used), once this
      // run's session is closed: until then the process counts it, and may have no room for another.
      const prepareNext = () => {
        if (key && this.leases.warmRoom(place)) this.ready.prepare(key, at, openNew)
      }
      yield* acpWarmRun(this.id, open, req, signal, prepareNext)
      return
    }
    await loadAcpSdk()
    const agent = this.leases.spawn(await this.leases.launch(req, oneShotLaunch))
    const open = () => openAcpSession(this.id, this.leases.own(agent), at, hooks, this.openOptions)
    yield* acpColdRun(this.id, agent, open, req, signal)
  }

  async openSession(req: SessionRequest, hooks: SessionHooks): Promise<AgentSession> {
    const asked = this.sessionHooks(req, hooks)
    const session = await openAcpSession(
      this.id,
      this.leases.lease(req),
      this.at(req),
      asked,
      this.openOptions,
    )
    return this.reopening(session, req, asked, false)
  }

  /** Where a session of `req` runs, and the sandbox its file writes are allowed by (write-grants.ts). */
  private at(req: SessionRequest): { cwd: string; sandbox: SandboxMode } {
    return { cwd: req.cwd, sandbox: req.sandbox ?? this.config.CODEX_SANDBOX }
  }

  /**
   * gemini, copilot and claude-agent-acp ask about every tool they may not run on their own: their sandbox and
   * approval policy are the gateway's answers (sandbox-approvals.ts). codex-acp is given its sandbox and policy;
   * custom agents ask. What a claude-agent-acp session's `accept_for_session` answers allowed is kept with the
   * session (claude-session-rules.ts); a copilot session's accepted file changes by the gateway (copilot-edit-rules.ts);
   * a codex-acp command is never accepted for the session (codex-acp-command-rules.ts).
   */
  private sessionHooks(req: SessionRequest, hooks: SessionHooks): AcpSessionHooks {
    // codex-acp's own `allow_always` to a command is an allow rule in CODEX_HOME: never sent (codex-acp-command-rules.ts)
    if (this.spec.flavor === 'codex-acp') return codexAcpCommandRules(hooks)
    if (!answeredByTheGateway.has(this.spec.flavor)) return hooks
    const sandbox = req.sandbox ?? this.config.CODEX_SANDBOX
    const asked = this.spec.flavor === 'copilot' ? copilotEditRules(hooks) : hooks
    const answers = sandboxApprovals(sandbox, req.approvalPolicy, req.cwd, asked)
    if (this.spec.flavor !== 'claude-agent-acp') return answers
    return claudeSessionRules(answers, hooks.allowedForSession?.bind(hooks), req.allowedForSession)
  }

  /**
   * `session/load`, when the agent supports it (`loadSession`), with what the session allowed (loadOptions). A
   * session the agent cannot load (no `loadSession`, or its answer to `session/load` is an error: codex-acp's thread
   * or Claude's conversation is gone) goes on in a new agent session (open-session.ts `newWhenLost`), whose next
   * turn says so first (`context_lost`) when the session had history; without history, silently. A Claude
   * conversation whose file is still there is not lost (historyKept).
   */
  async resumeSession(
    agentSessionId: string,
    req: SessionRequest,
    hooks: SessionHooks,
  ): Promise<AgentSession> {
    const asked = this.sessionHooks(req, hooks)
    const session = await openAcpSession(this.id, this.leases.lease(req), this.at(req), asked, {
      ...this.loadOptions(req),
      loadId: agentSessionId,
      newWhenLost: (lost: LostSession) => (req.hasHistory ? this.lostNotice(lost) : undefined),
      ...this.historyKept(req.cwd),
    })
    return this.reopening(session, req, asked, true)
  }

  /**
   * How a session is loaded: claude-agent-acp is given what the session's `accept_for_session` answers allowed
   * (when it was opened) as its `allowedTools`: Claude Code's rules, not the gateway's own (exact-call-rule.ts),
   * which the gateway matches itself.
   */
  private loadOptions(req: SessionRequest): AcpOpenOptions {
    const allowed =
      this.spec.flavor === 'claude-agent-acp' ? claudeCodeRules(req.allowedForSession ?? []) : undefined
    return {
      ...this.openOptions,
      ...(allowed?.length ? { allowedTools: allowed } : {}),
      // Gemini CLI's load erases a record of this minute and replays after its answer (gemini-session-load.ts)
      ...(this.spec.flavor === 'gemini' ? geminiLoadOptions(geminiHome(this.config, this.serverEnv)) : {}),
    }
  }

  /**
   * The session, reopened on its next turn when its agent process ended (reopening-session.ts): loaded on a new
   * process, else a new session (`context_lost`). Its hooks stay the session's (what it allowed meanwhile with them);
   * claude-agent-acp is given what the session allowed until then as its `allowedTools`.
   */
  private reopening(
    session: AcpSession,
    req: SessionRequest,
    hooks: AcpSessionHooks,
    resumed: boolean,
  ): AgentSession {
    // what the session allowed until now, not only until it was opened (claude-agent-acp: claudeSessionRules)
    const allowedNow = (): SessionRequest => {
      const rules = hooks.allowedRules?.()
      return rules ? { ...req, allowedForSession: rules } : req
    }
    const reopen = (loadId: string, history: boolean) =>
      openAcpSession(this.id, this.leases.lease(req), this.at(req), hooks, {
        ...this.loadOptions(allowedNow()),
        loadId,
        newWhenLost: (lost) => (history ? this.lostNotice(lost) : undefined),
        ...this.historyKept(req.cwd),
      })
    return new ReopeningAcpSession(session, reopen, this.id, resumed)
  }

  /**
   * claude-agent-acp answers a `session/load` with `Resource not found` both when the conversation is gone and when
   * the Claude Code it started to resume it died at start-up (or with that exit as an internal error): a session
   * whose conversation file is still in Claude's home (conversation-file.ts) is not lost, the load's error fails
   * the turn and the next one loads it again. Before, such a session went on in a new conversation (a false
   * `context_lost`) and lost the conversation it had.
   */
  private historyKept(cwd: string): Pick<AcpOpenOptions, 'historyKept'> {
    if (this.spec.flavor !== 'claude-agent-acp') return {}
    return { historyKept: (loadId) => claudeConversationExists(this.serverEnv, cwd, loadId) }
  }

  /** What a turn of a session the agent could not load says first (lost-session.ts). */
  private lostNotice(lost: LostSession): AgentEvent {
    return lostSessionNotice(this.id, this.spec.flavor === 'claude-agent-acp', lost)
  }

  /** Ends the processes kept ready for one-shot runs (shutdown); sessions end their own. */
  async close(): Promise<void> {
    await this.ready.close()
    await this.leases.close()
  }
}
