import type { AgentEvent } from '../../protocol/events.js'
import { placementOf } from '../placement.js'
import { ProcessPerTurnSession } from '../process-per-turn-session.js'
import { type AgentSession, inputImages, inputText, type SessionRequest, type TurnInput } from '../session.js'
import { runEventInTurn, turnEndOf } from '../turn-from-run.js'
import type { CopilotDriver } from './driver.js'

interface TurnRecord {
  turnId: string
  input: string
  status: 'completed' | 'interrupted' | 'failed'
  finalResponse: string | null
  error?: string
}

/**
 * A copilot session: every turn is one `copilot -p` process. The id is chosen here (a UUID given to copilot
 * with `--session-id` on the first turn) and later turns `--resume` it, so it is known before any turn ran;
 * should copilot report another id, `agentSessionId` follows it (the manager stores it after each turn).
 */
export class CopilotSession extends ProcessPerTurnSession implements AgentSession {
  private readonly turns: TurnRecord[] = []

  constructor(
    private readonly driver: CopilotDriver,
    private readonly req: SessionRequest,
    public agentSessionId: string,
    /** Whether copilot already has this session on disk (resume instead of create). */
    private exists: boolean,
  ) {
    super('copilot')
  }

  async *turn(input: TurnInput, signal: AbortSignal): AsyncGenerator<AgentEvent> {
    const turnId = `copilot_turn_${this.turns.length + 1}`
    const prompt = inputText(input)
    yield { type: 'turn.started', turnId }
    if (this.current) {
      yield { type: 'turn.failed', turnId, error: 'a turn is already running in this session' }
      return
    }
    const controller = new AbortController()
    this.current = controller
    const onAbort = () => controller.abort(signal.reason)
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
    let finalResponse: string | null = null
    let end: AgentEvent = { type: 'turn.failed', turnId, error: 'copilot ended without a result' }
    try {
      const events = this.driver.execute(
        {
          prompt,
          cwd: this.req.cwd,
          model: this.driver.model(this.req.model),
          sandbox: this.driver.sandbox(this.req.sandbox),
          // the turn's images: the core's private copies (core/turn-images.ts), as a run's are
          ...(inputImages(input).length ? { images: inputImages(input) } : {}),
          session: { id: this.agentSessionId, mode: this.exists ? 'resume' : 'new' },
          ...placementOf(this.req),
        },
        controller.signal,
      )
      for await (const ev of events) {
        const part = runEventInTurn(ev)
        if (part.role === 'run-ended') {
          finalResponse = part.event.finalResponse
          end = { ...turnEndOf(part.event, 'copilot'), turnId }
        } else if (part.role === 'agent-session') {
          this.exists = true
          this.agentSessionId = part.agentSessionId
          yield ev
        } else if (part.role === 'content') yield ev
      }
    } finally {
      signal.removeEventListener('abort', onAbort)
      this.current = undefined
      this.turns.push({
        turnId,
        input: prompt,
        status: end.type === 'turn.completed' ? (end.status ?? 'completed') : 'failed',
        finalResponse,
        ...(end.type === 'turn.failed' ? { error: end.error } : {}),
      })
    }
    yield end
  }

  async read(includeTurns: boolean): Promise<unknown> {
    return { sessionId: this.agentSessionId, ...(includeTurns ? { turns: [...this.turns] } : {}) }
  }

  async archive(): Promise<void> {}

  async close(): Promise<void> {
    this.current?.abort('cancelled')
  }
}
