import type { TurnInput } from '../agents/session.js'
import type { Config } from '../config/load.js'
import { AppError } from '../protocol/errors.js'
import type { Turn } from '../protocol/sessions.js'
import type { ActiveRuns } from './active-runs.js'
import { newId } from './ids.js'
import { hasTurns, type LiveSession } from './live-sessions.js'

/** What a new turn does when the session is busy: wait its turn, steer the running one, or be refused (409). */
export type OnBusy = 'queue' | 'steer' | 'reject'

export interface TurnQueueContext {
  config: Config
  active: ActiveRuns
  /** False once the gateway shuts down: queued turns no longer start. */
  accepting(): boolean
  /** Runs one turn to its recorded end. */
  execute(sessionId: string, live: LiveSession, turn: Turn, controller: AbortController): Promise<void>
  /** No turn of the session starts now: its idle unload is (re)scheduled. */
  nothingToStart(sessionId: string, live: LiveSession): void
}

/** A new turn's record, queued. */
export const queuedTurn = (sessionId: string, input: TurnInput): Turn => ({
  id: newId('turn'),
  sessionId,
  agentTurnId: null,
  status: 'queued',
  input,
  createdAt: new Date().toISOString(),
  startedAt: null,
  finishedAt: null,
  finalResponse: null,
  usage: null,
  error: null,
})

/**
 * The turns of the live sessions of this process: one runs at a time per session, the others wait in its queue
 * (at most MAX_QUEUED_TURNS); each can be waited for until it ended.
 */
export class TurnQueue {
  private readonly turnsDone = new Map<string, Promise<void>>()
  private readonly markTurnDone = new Map<string, () => void>()

  constructor(private readonly ctx: TurnQueueContext) {}

  /**
   * A new turn for a session that may be busy, following `onBusy`: undefined to queue it, or the running turn
   * the input was steered into; throws 409 (reject) or 429 (the queue is full).
   */
  async whenBusy(id: string, live: LiveSession, input: TurnInput, onBusy: OnBusy): Promise<Turn | undefined> {
    if (!hasTurns(live)) return undefined
    if (onBusy === 'reject')
      throw new AppError('conflict', `session ${id} is busy with turn ${live.current?.turn.id}`)
    if (onBusy === 'steer' && live.current) {
      await live.agent.steer(input)
      return live.current.turn
    }
    if (live.queue.length >= this.ctx.config.MAX_QUEUED_TURNS)
      throw new AppError('over_capacity', `session ${id} already has ${live.queue.length} queued turns`, {
        retryAfterSeconds: 5,
      })
    return undefined
  }

  /** Queues a stored turn: it starts once the turns before it ended. */
  push(sessionId: string, live: LiveSession, turn: Turn): void {
    let done!: () => void
    this.turnsDone.set(turn.id, new Promise<void>((resolve) => (done = resolve)))
    this.markTurnDone.set(turn.id, done)
    live.queue.push(turn)
    this.pump(sessionId, live)
  }

  /** Resolves once the turn ended (at once when this process does not hold it), or after `timeoutMs`. */
  async ended(turnId: string, timeoutMs?: number): Promise<void> {
    const done = this.turnsDone.get(turnId)
    if (!done) return
    let timer: NodeJS.Timeout | undefined
    const timedOut = timeoutMs ? new Promise((r) => (timer = setTimeout(r, timeoutMs).unref())) : undefined
    await (timedOut ? Promise.race([done, timedOut]) : done)
    clearTimeout(timer)
  }

  /** Whether the turn was started by this process and has not ended yet. */
  holds(turnId: string): boolean {
    return this.turnsDone.has(turnId)
  }

  /** The turn will not run (or no longer runs here): whoever waits for it goes on. */
  release(turnId: string): void {
    this.markTurnDone.get(turnId)?.()
    this.markTurnDone.delete(turnId)
    this.turnsDone.delete(turnId)
  }

  /** Resolves when every turn this process holds ended. */
  async idle(): Promise<void> {
    await Promise.all([...this.turnsDone.values()])
  }

  private pump(id: string, live: LiveSession): void {
    if (live.current || live.queue.length === 0) {
      this.ctx.nothingToStart(id, live)
      return
    }
    clearTimeout(live.idleTimer)
    const turn = live.queue.shift()!
    const controller = this.ctx.active.track()
    live.current = { turn, controller }
    void this.ctx.execute(id, live, turn, controller).finally(() => {
      this.ctx.active.release(controller)
      live.current = undefined
      this.release(turn.id)
      if (this.ctx.accepting()) this.pump(id, live)
    })
  }
}
