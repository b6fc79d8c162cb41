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
  type ForkedHead,
  inputText,
  type SessionHooks,
  type SessionRequest,
  type TurnInput,
  type TurnOptions,
} from '../session.js'
import { runEventInTurn, turnEndOf } from '../turn-from-run.js'
import type { ClaudeThread } from './command.js'
import { contextLost } from './context-lost.js'
import type { ConversationCut } from './conversation-copy.js'
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
   * Copies Claude's conversation `from` of a session in `cwd` to a new one `to`, as it is now up to `cut`
   * (complete lines only); false when Claude has no conversation `from` on disk, or nothing was copied
   * (conversation-copy.ts).
   */
  copyConversation(cwd: string, from: string, to: string, cut?: ConversationCut): Promise<boolean>
  /** The size of Claude's conversation `id` of a session in `cwd` now, in bytes; null when it is not on disk. */
  conversationBytes(cwd: string, id: string): Promise<number | null>
}

/** The turn a session runs: its id (the agent's, ClaudeSession's own) and its conversation when it started. */
interface RunningTurn {
  id: string
  /** Whether Claude had the session's conversation when the turn started (it resumed it). */
  resumed: boolean
  /** The conversation's size when the turn started, before its process wrote to it; null: not on disk. */
  bytesBefore: Promise<number | null>
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
  /** The turn running (RunningTurn), set before its process starts. */
  private current: RunningTurn | null = null
  /** The id of the last turn that ended in this process (the turns a fork copies end with it). */
  private lastEnded: string | undefined
  /** The copies forks make of the conversation while no turn runs: a turn's process waits for them to end. */
  private copying: Promise<unknown> = Promise.resolve()
  /** A fork's: where its copy of its parent's conversation ends (AgentSession.forkedHead). */
  private head: ForkedHead | undefined

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
    // where the conversation stands before this turn's process writes to it (after the copies forks began while no
    // turn ran): a fork made while the turn runs copies that much, set now, before anything else can fork
    const turnId = randomUUID()
    const resumed = this.exists
    const from = this.agentSessionId
    const bytesBefore = this.copying.then(() =>
      resumed ? this.runner.conversationBytes(this.req.cwd, from).catch(() => null) : null,
    )
    this.current = { id: turnId, resumed, bytesBefore }
    const prompt = inputText(input)
    let outcome: TurnCompletedEvent | TurnFailedEvent | undefined
    try {
      let cancelled = false
      const approvals = this.approvals(options, () => {
        cancelled = true
      })
      let started = false
      await bytesBefore
      for (let thread = this.thread(); ; ) {
        let unknownThread = false
        for await (const ev of this.runner.runTurn(prompt, this.req, thread, controller.signal, approvals)) {
          const part = runEventInTurn(ev)
          // turn.started once the process runs (so an abort right after it finds the process to end); once per
          // turn, also when its first process found no conversation to resume (below)
          if (part.role === 'process-started') {
            if (!started) yield { type: 'turn.started', turnId }
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
      this.current = null
      this.lastEnded = turnId
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
   * The fork is this session's conversation at the fork point: Claude's conversation file copied under the fork's
   * own id, which its turns `--resume`. Its turns that had ended: a turn running now is not in it (the file as it
   * was before the turn's process wrote to it; Claude cannot continue a turn cut anywhere, as codex does), and
   * the fork point says so (forkedHead: before that turn, else after the last turn ended here; fork-point.ts).
   * Not `--resume <parent> --fork-session` on the fork's first turn: that copies the parent as it is then, with
   * the turns the parent ran after the fork point (forkedAtTurn). The copy is on disk from the fork on, so a fork
   * reopened before its first turn (a restart, an idle unload) and a fork of it hold it too, with nothing more to
   * store; one whose parent had no conversation on disk says so on its first turn (`context_lost`, hasHistory). A
   * session that never had a conversation has nothing to copy: its fork starts anew. The fork asks its own
   * approvals (`hooks`) and starts without what this session's `accept_for_session` answers allowed: they were
   * given for this session, and a codex fork (a new thread, its approvals cache empty) starts without them too.
   */
  async fork(hooks?: SessionHooks): Promise<AgentSession> {
    const id = randomUUID()
    const { allowedForSession: _parents, hasHistory: _parentHad, forkOf: _itsParent, ...req } = this.req
    // what the fork holds is decided now: a turn that starts while the copy is made is not in it
    const running = this.current
    const from = this.agentSessionId
    if (!(running ? running.resumed : this.exists))
      return new ClaudeSession(this.runner, req, { id, exists: false }, hooks)
    const head: ForkedHead | undefined = running
      ? { turnId: running.id, ended: false, items: [], before: true }
      : this.lastEnded
        ? { turnId: this.lastEnded, ended: true, items: [] }
        : undefined
    const copy = running
      ? running.bytesBefore.then(
          (bytes) => bytes !== null && this.runner.copyConversation(this.req.cwd, from, id, { bytes }),
        )
      : this.runner.copyConversation(this.req.cwd, from, id)
    if (!running) this.copying = Promise.all([this.copying, copy.catch(() => false)])
    await copy
    const fork = new ClaudeSession(this.runner, { ...req, hasHistory: true }, { id, exists: true }, hooks)
    fork.head = head
    return fork
  }

  async forkedHead(): Promise<ForkedHead | undefined> {
    return this.head
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
