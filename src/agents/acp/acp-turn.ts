import type { AgentEvent } from '../../protocol/events.js'
import { HeldEvents } from '../held-events.js'
import type { HeldOutput } from '../held-output.js'
import { UpdateMapper } from './update-mapper.js'

/** Why a turn's approvals stop: made once (`abort()` without a reason builds a DOMException each time). */
const approvalsEnded = new Error('the turn no longer waits for approvals')

/**
 * One prompt turn in flight: its event queue, its update mapper, and a signal that ends the approvals it
 * waits on. `end` closes it exactly once (open items first, then the end event).
 */
export class AcpTurn {
  /** Counted in its agent process's HeldOutput until the turn's reader takes them. */
  readonly events: HeldEvents
  readonly mapper: UpdateMapper
  private readonly approvals = new AbortController()
  private timer: NodeJS.Timeout | undefined
  private finished = false
  private settle: () => void = () => {}
  /** Set while the turn waits for its open tool calls to end. */
  private toolsClosed: (() => void) | undefined
  /** Resolves when the turn ended. */
  readonly settled = new Promise<void>((resolve) => {
    this.settle = resolve
  })

  constructor(
    agent: string,
    readonly turnId: string,
    /** Tool calls of the session's earlier turns (see UpdateMapper). */
    earlierToolCall?: (toolCallId: string) => boolean,
    /** What its agent's output read and not taken is counted in (the reader waits past its bound). */
    held?: HeldOutput,
  ) {
    this.events = new HeldEvents(held)
    this.mapper = new UpdateMapper(agent, turnId, earlierToolCall)
  }

  get isFinished(): boolean {
    return this.finished
  }

  /** Aborted when the turn is cancelled or ends: pending approvals are answered `cancelled`. */
  get approvalSignal(): AbortSignal {
    return this.approvals.signal
  }

  push(events: AgentEvent[]): void {
    if (!this.finished) for (const ev of events) this.events.push(ev)
    if (!this.mapper.hasOpenTools) this.toolsClosed?.()
  }

  cancelApprovals(): void {
    this.approvals.abort(approvalsEnded)
  }

  completed(status: 'completed' | 'interrupted'): void {
    this.end({ type: 'turn.completed', turnId: this.turnId, status, usage: null })
  }

  /**
   * Waits (at most `ms`) until every tool call reported its end: an agent may send a tool's last update
   * just after the prompt's answer (codex-acp does under load).
   */
  async toolsSettled(ms: number): Promise<void> {
    if (!this.mapper.hasOpenTools || this.finished) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms)
      this.toolsClosed = () => {
        clearTimeout(timer)
        resolve()
      }
    })
    this.toolsClosed = undefined
  }

  fail(error: string): void {
    this.end({ type: 'turn.failed', turnId: this.turnId, error })
  }

  /** Fails the turn unless it ended within `ms`. */
  deadline(ms: number, error: string): void {
    this.timer ??= setTimeout(() => this.fail(error), ms)
  }

  private end(last: AgentEvent): void {
    if (this.finished) return
    this.push(this.mapper.finish())
    this.push([last])
    this.finished = true
    if (this.timer) clearTimeout(this.timer)
    this.approvals.abort(approvalsEnded)
    this.events.close()
    this.toolsClosed?.()
    this.settle()
  }
}
