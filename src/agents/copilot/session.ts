import { AppError } from '../../protocol/errors.js'
import type { AgentEvent } from '../../protocol/events.js'
import { placementOf } from '../placement.js'
import type { AgentSession, SessionRequest, TurnInput } from '../session.js'
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
export class CopilotSession implements AgentSession {
  private current: AbortController | undefined
  private readonly turns: TurnRecord[] = []

  constructor(
    private readonly driver: CopilotDriver,
    private readonly req: SessionRequest,
    public agentSessionId: string,
    /** Whether copilot already has this session on disk (resume instead of create). */
    private exists: boolean,
  ) {}

  async *turn(input: TurnInput, signal: AbortSignal): AsyncGenerator<AgentEvent> {
    const turnId = `copilot_turn_${this.turns.length + 1}`
    const prompt = input.map((part) => part.text).join('\n')
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

  async steer(): Promise<void> {
    throw new AppError('conflict', 'copilot cannot add input to a running turn; queue a new turn instead')
  }

  async interrupt(): Promise<void> {
    this.current?.abort('cancelled')
  }

  async fork(): Promise<AgentSession> {
    throw new AppError('invalid_request', 'copilot sessions cannot be forked')
  }

  async read(includeTurns: boolean): Promise<unknown> {
    return { sessionId: this.agentSessionId, ...(includeTurns ? { turns: [...this.turns] } : {}) }
  }

  async archive(): Promise<void> {}

  async close(): Promise<void> {
    this.current?.abort('cancelled')
  }
}
