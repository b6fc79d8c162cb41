import type { AgentEvent } from '../../protocol/events.js'
import type { SandboxMode } from '../../protocol/policies.js'
import { type Placement, placementOf } from '../placement.js'
import { ProcessPerTurnSession } from '../process-per-turn-session.js'
import { type AgentSession, inputText, type SessionRequest, type TurnInput } from '../session.js'
import { runEventInTurn, turnEndOf } from '../turn-from-run.js'
import { createGeminiStreamMapper } from './stream-events.js'

/** One Gemini CLI process: a prompt in a session, new (`--session-id`) or resumed (`--resume`). */
export interface GeminiInvocation extends Placement {
  prompt: string
  cwd: string
  model?: string
  sandbox?: SandboxMode
  /** Start a new session with this id, or resume the existing one with it. */
  session?: { id: string; resume: boolean }
  timeoutMs?: number | null
}

/** What a session needs from the driver: run one invocation and map its output. */
export interface GeminiProcessHost {
  readonly id: string
  /** Whether Gemini has this chat on disk (then a turn resumes it; a first turn creates it). */
  chatExists(agentSessionId: string): Promise<boolean>
  invoke(
    call: GeminiInvocation,
    mapper: ReturnType<typeof createGeminiStreamMapper>,
    signal: AbortSignal,
  ): AsyncIterable<AgentEvent>
}

interface TurnRecord {
  input: TurnInput
  status: 'completed' | 'interrupted' | 'failed'
  finalResponse: string | null
  error?: string
}

/**
 * A Gemini CLI session: every turn is one `gemini -p` process. The first turn creates the chat with an id the
 * gateway chose (`--session-id`), later turns `--resume` it by that id. Gemini stores chats per project
 * directory, so a session resumes only with the same cwd (the session's). No steer, no fork.
 */
export class GeminiSession extends ProcessPerTurnSession implements AgentSession {
  private readonly turns: TurnRecord[] = []
  private id: string

  constructor(
    private readonly host: GeminiProcessHost,
    private readonly req: SessionRequest,
    agentSessionId: string,
  ) {
    super('gemini')
    this.id = agentSessionId
  }

  get agentSessionId(): string {
    return this.id
  }

  async *turn(input: TurnInput, signal: AbortSignal): AsyncGenerator<AgentEvent> {
    yield { type: 'turn.started' }
    if (this.current) {
      yield { type: 'turn.failed', error: 'a turn is already running in this session' }
      return
    }
    const controller = new AbortController()
    const onAbort = () => controller.abort(signal.reason ?? 'cancelled')
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
    this.current = controller
    const mapper = createGeminiStreamMapper(this.host.id)
    const call: GeminiInvocation = {
      prompt: inputText(input),
      cwd: this.req.cwd,
      ...(this.req.model ? { model: this.req.model } : {}),
      ...(this.req.sandbox ? { sandbox: this.req.sandbox } : {}),
      session: { id: this.id, resume: await this.host.chatExists(this.id) },
      ...placementOf(this.req),
    }
    let record: TurnRecord = { input, status: 'failed', finalResponse: null }
    try {
      for await (const ev of this.host.invoke(call, mapper, controller.signal)) {
        // The turn's own start and end are decided here, from the process outcome.
        const part = runEventInTurn(ev)
        if (part.role === 'agent-session') this.id = part.agentSessionId
        if (part.role === 'content' || part.role === 'agent-session') yield ev
        if (part.role !== 'run-ended') continue
        const end = turnEndOf(part.event, 'gemini')
        record = { input, status: 'failed', finalResponse: part.event.finalResponse }
        if (end.type === 'turn.completed') record.status = end.status ?? 'completed'
        else record.error = end.error
        yield end
      }
    } finally {
      signal.removeEventListener('abort', onAbort)
      this.current = undefined
      this.turns.push(record)
    }
  }

  /** The turns this gateway process ran (Gemini's own chat file is not parsed). */
  async read(includeTurns: boolean): Promise<unknown> {
    return { sessionId: this.id, turns: includeTurns ? this.turns : [] }
  }

  async archive(): Promise<void> {}

  async close(): Promise<void> {
    await this.interrupt()
  }
}
