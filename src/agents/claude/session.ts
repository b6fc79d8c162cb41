import { randomUUID } from 'node:crypto'
import { AppError } from '../../protocol/errors.js'
import type {
  AgentEvent,
  RunCompletedEvent,
  TurnCompletedEvent,
  TurnFailedEvent,
} from '../../protocol/events.js'
import type { AgentApprovalPolicy } from '../../protocol/policies.js'
import { claudeCodeRules } from '../exact-call-rule.js'
import {
  type AgentSession,
  inputText,
  type SessionHooks,
  type SessionRequest,
  type TurnInput,
  type TurnOptions,
} from '../session.js'
import { runEventInTurn, turnEndOf } from '../turn-from-run.js'
import type { ClaudeThread } from './command.js'
import { contextLost } from './context-lost.js'
import { SessionAllowedRules } from './session-allowed-rules.js'

/** How a turn's permission questions are answered: by the session's approvals, and what it allowed for good. */
export interface TurnApprovals {
  hooks: SessionHooks
  /** `--allowedTools` entries the session's earlier `accept_for_session` answers allowed (Claude Code's rules). */
  allowedTools: string[]
  /** Whether the session's `accept_for_session` answers allowed this rule of the gateway's own (a WebFetch URL). */
  allows(rule: string): boolean
  /**
   * Keeps the rules an `accept_for_session` answer allowed (Claude Code's spelling, `ruleArg`, or the gateway's
   * own), for the session's later turns; resolves once they are stored with the session
   * (SessionHooks.allowedForSession), or could not be (they still hold in this process).
   */
  remember(rules: readonly string[]): Promise<void>
  /** A `cancel` answer: Claude Code stops the turn (it then ends as an error), which the session reports interrupted. */
  cancelled(): void
}

/** What a session needs from the driver: one `claude -p` process per turn (run.started ... run.completed). */
export interface ClaudeTurnRunner {
  runTurn(
    prompt: string,
    req: SessionRequest,
    thread: ClaudeThread,
    signal: AbortSignal,
    approvals?: TurnApprovals,
  ): AsyncIterable<AgentEvent>
  /**
   * Copies Claude's conversation `from` of a session in `cwd` to a new one `to`, as it is now; false when Claude
   * has no conversation `from` on disk (conversation-file.ts).
   */
  copyConversation(cwd: string, from: string, to: string): Promise<boolean>
}

export interface ClaudeSessionState {
  /** The Claude session id (a UUID the gateway picks, passed as --session-id). */
  id: string
  /** Whether Claude already has this session on disk (later turns use --resume). */
  exists: boolean
  /** `--allowedTools` entries the session's `accept_for_session` answers allowed before (a reopened session). */
  allowed?: readonly string[]
}

/**
 * A Claude Code session: every turn is one `claude -p` process that continues the session by id. There is no
 * live process between turns, so steer is impossible and interrupt ends the running turn's process group. A turn
 * whose approval policy (its own, else the session's) is not `never` asks the session's hooks before each tool its
 * permission mode does not allow; without a policy Claude runs as it always did, refusing those tools (`never`).
 * What `accept_for_session` allowed holds for the session's later turns: kept with the session by the gateway
 * (SessionHooks.allowedForSession) and given back when it is reopened, so a restart, an idle unload or a takeover
 * asks none of it again. A fork starts without it, as a codex fork does.
 */
export class ClaudeSession implements AgentSession {
  agentSessionId: string
  readonly agentApprovalPolicy: AgentApprovalPolicy = 'never'
  /** `--allowedTools` entries allowed for the rest of the session, kept with it. */
  private readonly allowed: SessionAllowedRules
  private exists: boolean
  private turns = 0
  private running: AbortController | null = null

  constructor(
    private readonly runner: ClaudeTurnRunner,
    private readonly req: SessionRequest,
    state: ClaudeSessionState,
    private readonly hooks?: SessionHooks,
  ) {
    this.agentSessionId = state.id
    this.exists = state.exists
    this.allowed = new SessionAllowedRules(state.allowed ?? [], hooks?.allowedForSession)
  }

  private thread(): ClaudeThread {
    if (this.exists) return { kind: 'resume', sessionId: this.agentSessionId }
    return { kind: 'new', sessionId: this.agentSessionId }
  }

  /**
   * Whether Claude should have a conversation to resume: the session ran a turn (in this process, or before it
   * was reopened: SessionRequest.hasHistory) or is a fork (its parent's history).
   */
  private hasHistory(): boolean {
    return this.turns > 0 || this.req.hasHistory === true
  }

  private approvals(options: TurnOptions | undefined, onCancel: () => void): TurnApprovals | undefined {
    const policy = options?.approvalPolicy ?? this.req.approvalPolicy ?? this.agentApprovalPolicy
    if (policy === 'never' || !this.hooks) return undefined
    return {
      hooks: this.hooks,
      allowedTools: claudeRules(this.allowed.list()),
      allows: (rule) => this.allowed.has(rule),
      remember: (rules) => this.allowed.add(rules),
      cancelled: onCancel,
    }
  }

  async *turn(input: TurnInput, signal: AbortSignal, options?: TurnOptions): AsyncGenerator<AgentEvent> {
    if (this.running) {
      yield { type: 'turn.started' }
      yield { type: 'turn.failed', error: 'a turn is already running in this claude session' }
      return
    }
    const controller = new AbortController()
    const forward = () => controller.abort(signal.reason)
    if (signal.aborted) forward()
    else signal.addEventListener('abort', forward, { once: true })
    this.running = controller
    const prompt = inputText(input)
    let outcome: TurnCompletedEvent | TurnFailedEvent | undefined
    try {
      let cancelled = false
      const approvals = this.approvals(options, () => {
        cancelled = true
      })
      let started = false
      for (let thread = this.thread(); ; ) {
        let unknownThread = false
        for await (const ev of this.runner.runTurn(prompt, this.req, thread, controller.signal, approvals)) {
          const part = runEventInTurn(ev)
          // turn.started once the process runs (so an abort right after it finds the process to end); once per
          // turn, also when its first process found no conversation to resume (below)
          if (part.role === 'process-started') {
            if (!started) yield { type: 'turn.started' }
            started = true
          } else if (part.role === 'agent-turn-end') outcome = part.event
          else if (part.role === 'run-ended') {
            unknownThread = thread.kind === 'resume' && !cancelled && noConversation(part.event, outcome)
            if (!unknownThread)
              yield cancelled
                ? { type: 'turn.completed', status: 'interrupted', usage: part.event.usage }
                : turnEndOf(part.event, 'claude', outcome)
          } else if (part.role === 'agent-session') {
            this.exists = true
            this.agentSessionId = part.agentSessionId
            yield ev
          } else if (part.role === 'content') yield ev
        }
        // Claude has no conversation of this id: its file was removed, Claude's home cleaned or replaced (another
        // machine), or its last process was killed (kill -9, OOM) before it saved a word (Claude announces the
        // session as its process starts). Every later `--resume` would fail the same way, so the turn goes on in
        // a new conversation under the same id, once, and says so first: an `error` item, before any answer.
        // A session reopened before its first turn (a restart, an idle unload) had no conversation to lose: it
        // starts one silently, as live-sessions.ts's resumeOrStart does for the other agents.
        if (!unknownThread) break
        if (this.hasHistory())
          yield contextLost(this.agentSessionId, 'resume', 'this turn starts a new conversation')
        outcome = undefined
        thread = { kind: 'new', sessionId: this.agentSessionId }
      }
    } finally {
      signal.removeEventListener('abort', forward)
      this.running = null
      this.turns += 1
    }
  }

  async steer(_input: TurnInput): Promise<void> {
    throw new AppError('conflict', 'claude cannot steer a running turn')
  }

  async interrupt(): Promise<void> {
    this.running?.abort('cancelled')
  }

  /**
   * The fork is this session's conversation as it is now: Claude's conversation file copied under the fork's own
   * id, which its turns `--resume`. Not `--resume <parent> --fork-session` on the fork's first turn: that copies
   * the parent as it is then, with the turns the parent ran after the fork point (forkedAtTurn). The copy is on
   * disk from the fork on, so a fork reopened before its first turn (a restart, an idle unload) and a fork of it
   * hold it too, with nothing more to store; one whose parent had no conversation on disk says so on its first
   * turn (`context_lost`, hasHistory). A session that never ran a turn has nothing to copy: its fork starts anew.
   * The fork asks its own approvals (`hooks`) and starts without what this session's `accept_for_session` answers
   * allowed: they were given for this session, and a codex fork (a new thread, its approvals cache empty) starts
   * without them too.
   */
  async fork(hooks?: SessionHooks): Promise<AgentSession> {
    const id = randomUUID()
    const { allowedForSession: _parents, hasHistory: _parentHad, ...req } = this.req
    if (!this.exists) return new ClaudeSession(this.runner, req, { id, exists: false }, hooks)
    await this.runner.copyConversation(this.req.cwd, this.agentSessionId, id)
    return new ClaudeSession(this.runner, { ...req, hasHistory: true }, { id, exists: true }, hooks)
  }

  async read(_includeTurns: boolean): Promise<unknown> {
    return { sessionId: this.agentSessionId, turns: this.turns }
  }

  async archive(): Promise<void> {}

  async close(): Promise<void> {
    this.running?.abort('shutdown')
  }
}

/**
 * The rules Claude Code is given (`--allowedTools`): not the gateway's own, nor a WebFetch domain rule a session
 * stored before the gateway kept a fetch's exact URL instead (it allowed every page of the host).
 */
const claudeRules = (rules: readonly string[]): string[] =>
  claudeCodeRules(rules).filter((rule) => !rule.startsWith('WebFetch('))

/** Whether a `--resume` ended because Claude has no conversation of that id (never saved, or gone). */
function noConversation(
  done: RunCompletedEvent,
  agentEnd: TurnCompletedEvent | TurnFailedEvent | undefined,
): boolean {
  const agentError = agentEnd?.type === 'turn.failed' ? agentEnd.error : undefined
  return (
    done.status === 'failed' && /No conversation found with session ID/.test(`${done.error} ${agentError}`)
  )
}
