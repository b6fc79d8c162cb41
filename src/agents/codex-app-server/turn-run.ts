import type { AgentEvent } from '../../protocol/events.js'
import type { Item } from '../../protocol/items.js'
import { HeldEvents } from '../held-events.js'
import type { HeldOutput } from '../held-output.js'
import { TurnEventMapper } from './turn-mapper.js'
import { safeRead } from './wire-read.js'
import { turnNotification } from './wire-schemas.js'

/** The reason `signal` gives once a turn ended: made once (`abort()` without one builds a DOMException each time). */
const turnEnded = new Error('the turn ended')

/**
 * One turn of a session while it runs: the thread's notifications go in (`notify`), normalized events come out
 * (`events`), and it ends exactly once: with the agent's turn/completed, or `fail`/`interrupted` when the
 * gateway has to end it itself (app-server died, request failed, aborted before the agent started it).
 * Notifications that arrive before the turn's id is known are held, so `turn.started` is always first.
 */
export class TurnRun {
  /** Counted in its app-server's HeldOutput until the turn's reader takes them. */
  readonly events: HeldEvents
  readonly mapper = new TurnEventMapper()
  /** The app-server process generation that runs this turn (set once turn/start answered). */
  generation: number | undefined
  /** An interrupt was asked for (sent once codex reports the turn started). */
  interruptRequested = false
  /**
   * codex reported `turn/started`. Only then does it accept `turn/interrupt`: between the turn/start answer and
   * this notification it answers "no active turn to interrupt" and the turn runs on.
   */
  agentStarted = false
  private turn: string | undefined
  private held: [string, unknown][] = []
  private finished = false
  /**
   * Made when `signal` is first asked for: most turns (no approval asked) never are, and making and aborting a
   * signal nobody holds cost ~45 µs of a warm turn's end, before the turn's reader saw it (docs/benchmarks.md,
   * "Issue 14, session 16").
   */
  private ended: AbortController | undefined
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly on: { end?: () => void; agentStarted?: () => void } = {},
    /** What its app-server's output read and not taken is counted in (the reader waits past its bound). */
    held?: HeldOutput,
  ) {
    this.events = new HeldEvents(held)
  }

  get turnId(): string | undefined {
    return this.turn
  }

  get isFinished(): boolean {
    return this.finished
  }

  /** Aborted once the turn ended (approvals still waiting stop then). */
  get signal(): AbortSignal {
    if (!this.ended) {
      this.ended = new AbortController()
      if (this.finished) this.ended.abort(turnEnded)
    }
    return this.ended.signal
  }

  /** The agent gave the turn its id: announces it, then replays what was held. */
  begin(turnId: string): void {
    if (this.finished || this.turn !== undefined) return
    this.turn = turnId
    this.push(this.mapper.begin(turnId))
    const held = this.held
    this.held = []
    for (const [method, params] of held) this.notify(method, params)
  }

  /** One notification about this session's thread. */
  notify(method: string, params: unknown): void {
    if (this.finished) return
    const started = method === 'turn/started' ? safeRead(turnNotification, params) : undefined
    if (this.turn === undefined) {
      if (started?.success) this.begin(started.data.turn.id)
      else {
        this.held.push([method, params])
        return
      }
    }
    this.push(this.mapper.map(method, params))
    if (this.mapper.done) this.end()
    else if (started?.success && started.data.turn.id === this.turn && !this.agentStarted) {
      this.agentStarted = true
      this.on.agentStarted?.()
    }
  }

  /** An item of the gateway's own in the running turn: a request it answered itself, for the client to see. */
  report(item: Item): void {
    if (this.finished || this.turn === undefined) return
    this.push([{ type: 'item.completed', item }])
  }

  /** Ends the turn with `turn.failed` (no-op once it ended). */
  fail(error: string): void {
    if (this.finished) return
    this.announce()
    this.push([{ type: 'turn.failed', ...this.ids(), error }])
    this.end()
  }

  /** Ends the turn as interrupted without the agent's word (it was aborted before the agent started it). */
  interrupted(): void {
    if (this.finished) return
    this.announce()
    this.push([{ type: 'turn.completed', ...this.ids(), status: 'interrupted', usage: this.mapper.usage() }])
    this.end()
  }

  /** Resolves once the turn ended, or after `ms`. */
  settled(ms: number): Promise<void> {
    if (this.finished) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms)
      this.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer)
          resolve()
        },
        { once: true },
      )
    })
  }

  /** Fails the turn unless it ends within `ms` (an interrupt the app-server never confirms). */
  deadline(ms: number, error: string): void {
    if (this.finished || this.timer) return
    this.timer = setTimeout(() => this.fail(error), ms)
    this.timer.unref()
  }

  /** `turn.started` even when the agent never gave an id; held notifications are kept as raw events. */
  private announce(): void {
    if (this.turn !== undefined) return
    this.push([{ type: 'turn.started' }])
    for (const [method, params] of this.held)
      this.push([{ type: 'agent.raw', agent: 'codex', payload: { method, params } }])
    this.held = []
  }

  private ids(): { turnId?: string } {
    return this.turn !== undefined ? { turnId: this.turn } : {}
  }

  private push(events: AgentEvent[]): void {
    for (const ev of events) this.events.push(ev)
  }

  private end(): void {
    this.finished = true
    if (this.timer) clearTimeout(this.timer)
    // a signal nobody asked for has nobody to tell (one asked for later is made aborted)
    this.ended?.abort(turnEnded)
    this.events.close()
    this.on.end?.()
  }
}
