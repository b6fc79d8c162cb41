import { randomUUID } from 'node:crypto'
import { AppError } from '../../protocol/errors.js'
import type { AgentEvent, TurnCompletedEvent, TurnFailedEvent } from '../../protocol/events.js'
import type { AgentSession, SessionRequest, TurnInput } from '../session.js'
import { runEventInTurn, turnEndOf } from '../turn-from-run.js'
import type { ClaudeThread } from './command.js'

/** What a session needs from the driver: one `claude -p` process per turn (run.started ... run.completed). */
export interface ClaudeTurnRunner {
  runTurn(
    prompt: string,
    req: SessionRequest,
    thread: ClaudeThread,
    signal: AbortSignal,
  ): AsyncIterable<AgentEvent>
}

export interface ClaudeSessionState {
  /** The Claude session id (a UUID the gateway picks, passed as --session-id). */
  id: string
  /** Whether Claude already has this session on disk (later turns use --resume). */
  exists: boolean
  /** A fork not yet materialized: its first turn runs `--resume <forkFrom> --fork-session --session-id <id>`. */
  forkFrom?: string
}

/**
 * A Claude Code session: every turn is one `claude -p` process that continues the session by id. There is no
 * live process between turns, so steer is impossible and interrupt ends the running turn's process group.
 */
export class ClaudeSession implements AgentSession {
  agentSessionId: string
  private exists: boolean
  private forkFrom: string | undefined
  private turns = 0
  private running: AbortController | null = null

  constructor(
    private readonly runner: ClaudeTurnRunner,
    private readonly req: SessionRequest,
    state: ClaudeSessionState,
  ) {
    this.agentSessionId = state.id
    this.exists = state.exists
    this.forkFrom = state.forkFrom
  }

  private thread(): ClaudeThread {
    if (this.exists) return { kind: 'resume', sessionId: this.agentSessionId }
    if (this.forkFrom) return { kind: 'fork', from: this.forkFrom, sessionId: this.agentSessionId }
    return { kind: 'new', sessionId: this.agentSessionId }
  }

  async *turn(input: TurnInput, signal: AbortSignal): AsyncGenerator<AgentEvent> {
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
    const prompt = input.map((part) => part.text).join('\n')
    let outcome: TurnCompletedEvent | TurnFailedEvent | undefined
    try {
      for await (const ev of this.runner.runTurn(prompt, this.req, this.thread(), controller.signal)) {
        const part = runEventInTurn(ev)
        // turn.started once the process runs (so an abort right after it finds the process to end).
        if (part.role === 'process-started') yield { type: 'turn.started' }
        else if (part.role === 'agent-turn-end') outcome = part.event
        else if (part.role === 'run-ended') yield turnEndOf(part.event, 'claude', outcome)
        else if (part.role === 'agent-session') {
          this.exists = true
          this.forkFrom = undefined
          this.agentSessionId = part.agentSessionId
          yield ev
        } else if (part.role === 'content') yield ev
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

  /** The fork gets its own id now; Claude copies the history on the fork's first turn (--fork-session). */
  async fork(): Promise<AgentSession> {
    const from = this.exists ? this.agentSessionId : this.forkFrom
    return new ClaudeSession(this.runner, this.req, {
      id: randomUUID(),
      exists: false,
      ...(from ? { forkFrom: from } : {}),
    })
  }

  async read(_includeTurns: boolean): Promise<unknown> {
    return { sessionId: this.agentSessionId, turns: this.turns }
  }

  async archive(): Promise<void> {}

  async close(): Promise<void> {
    this.running?.abort('shutdown')
  }
}
