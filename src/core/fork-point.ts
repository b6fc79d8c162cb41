import type { AgentSession, ForkedHead } from '../agents/session.js'
import type { StoredEvent } from '../protocol/events.js'
import type { Session } from '../protocol/sessions.js'
import type { Store } from '../store/store.js'
import type { EventLog } from './event-log.js'
import type { ForkPoint } from './session-request.js'

/**
 * How many of the parent's events are read first, back from the read point, for the fork's last held one (it is
 * mostly among the last few); each further read takes four times more, up to `backPageMax`.
 */
const backPageFirst = 8
const backPageMax = 1000
/** How many are read back at most (a turn with more events than that keeps the read point). */
const backLimit = 10_000
/** How long the parent's event of the last item the fork holds is waited for when it is not stored yet. */
export const heldEventWaitMs = 5000

interface ForkPointContext {
  store: Store
  log: EventLog
}

/**
 * The fork point of a fork of `parentId`: the parent's ended turns and its last event seq that match what the
 * agent's copy holds (its last turn, the agent's own word: AgentSession.forkedHead), from `at`, the parent as
 * stored just before the agent forked (kept as it is when the parent was idle and stored nothing meanwhile). An item the agent completes between that read and its fork is in the fork, so its
 * event (stored a moment later) is waited for and the point moves on to it; one the parent stored that the fork
 * does not hold (an item, a turn's start or end) moves the point back before it. A fork that holds none of the
 * turn the parent was running (ForkedHead.before: claude's copy of the turns that had ended) has its point right
 * before that turn's start, waited for likewise when it is not stored yet. Without `head`, or when the
 * parent's events do not say (too many to read back, the awaited one never stored in time), `at` stands.
 */
export async function forkPointOf(
  ctx: ForkPointContext,
  parentId: string,
  at: Session,
  fork: Pick<AgentSession, 'forkedHead'>,
  /** Whether the parent ran a turn (in the gateway) before the read or runs one now. */
  busy: () => boolean,
): Promise<Omit<ForkPoint, 'forkedFrom'>> {
  const kept = { forkedAtTurn: at.turnCount, forkedAtSeq: at.lastSeq }
  if (!fork.forkedHead) return kept
  // idle all along, nothing stored since the read: the agent's thread is what the gateway stored (asked nothing)
  if (!busy() && (await ctx.store.getSession(parentId))?.lastSeq === at.lastSeq) return kept
  const head = await fork.forkedHead()
  if (!head) return kept
  const events = new ParentEvents(ctx.store, head)
  const back = await events.back(parentId, at.lastSeq)
  if (back.found === 'unknown') return kept
  // the log's start came before the turn's: the turn is in the log only if it is starting now (a parent the agent
  // holds a turn of that the gateway never ran, a resumed thread's, keeps the read point: nothing to wait for)
  if (back.found === 'start' && !(await startingNow(ctx.store, parentId, head.turnId))) return kept
  if (back.found === 'before' && head.before)
    return { forkedAtTurn: at.turnCount - ends(back.after), forkedAtSeq: back.last.seq - 1 }
  if (back.found === 'before') {
    // stored by the read point: the point is there, unless the parent stored something the fork does not hold
    // since (what came after the agent's cut)
    const beyond = await events.firstBeyond(back.after)
    if (!beyond) return kept
    const dropped = back.after.filter((ev) => ev.seq >= beyond.seq)
    return { forkedAtTurn: at.turnCount - ends(dropped), forkedAtSeq: beyond.seq - 1 }
  }
  const ahead = await events.ahead(ctx.log, parentId, at.lastSeq)
  if (!ahead) return kept
  const last = ahead.at(-1)!.seq
  return { forkedAtTurn: at.turnCount + ends(ahead), forkedAtSeq: head.before ? last - 1 : last }
}

/** Whether the parent's running turn is the agent's `agentTurnId`, or one the agent has not named yet. */
async function startingNow(store: Store, parentId: string, agentTurnId: string): Promise<boolean> {
  const running = await store.listTurns(parentId, 'running')
  return running.some((t) => t.agentTurnId === agentTurnId || t.agentTurnId === null)
}

/** Whether `ev` starts or ends a turn. */
const isTurnEdge = (ev: StoredEvent) =>
  ev.type === 'turn.started' || ev.type === 'turn.completed' || ev.type === 'turn.failed'

/** How many turns end among `events`. */
const ends = (events: StoredEvent[]) =>
  events.filter((ev) => ev.type === 'turn.completed' || ev.type === 'turn.failed').length

/** The parent's events as a fork's head sees them: the last one it holds, and those it does not. */
class ParentEvents {
  private readonly agentTurns = new Map<string, Promise<string | null | undefined>>()
  private readonly held: Set<string>

  constructor(
    private readonly store: Store,
    private readonly head: ForkedHead,
  ) {
    this.held = new Set(head.items)
  }

  /**
   * Reads back from `seq` for the last event the fork holds: `before` with it and the events after it (oldest
   * first) when it is stored by then; `after` when the start of its turn came first, `start` when the log's did
   * (or, for a `before` head, another turn's start or end: its turn starts after `seq`); `unknown` when
   * `backLimit` events were read without any of them.
   */
  async back(
    parentId: string,
    seq: number,
  ): Promise<
    { found: 'before'; last: StoredEvent; after: StoredEvent[] } | { found: 'after' | 'start' | 'unknown' }
  > {
    const after: StoredEvent[] = []
    for (let hi = seq, read = 0, size = backPageFirst; hi > 0; size = Math.min(size * 4, backPageMax)) {
      if (read >= backLimit) return { found: 'unknown' }
      const lo = Math.max(0, hi - size)
      const page = (await this.store.eventsAfter(parentId, lo, hi - lo)).filter((ev) => ev.seq <= hi)
      read += page.length
      for (const ev of page.reverse()) {
        if (await this.isLastHeld(ev)) return { found: 'before', last: ev, after: after.reverse() }
        if (this.head.before && isTurnEdge(ev)) return { found: 'start' }
        if (ev.type === 'turn.started' && (await this.agentTurn(ev.turnId)) === this.head.turnId)
          return { found: 'after' }
        after.push(ev)
      }
      hi = lo
    }
    return { found: 'start' }
  }

  /**
   * The parent's events after `seq` up to the last one the fork holds, as they are stored (waited for at most
   * `heldEventWaitMs`); undefined when the parent passed the fork's last turn without it, or the wait is over.
   */
  async ahead(log: EventLog, parentId: string, seq: number): Promise<StoredEvent[] | undefined> {
    const stop = new AbortController()
    const timer = setTimeout(() => stop.abort(), heldEventWaitMs)
    const events: StoredEvent[] = []
    try {
      const archived = (ev: StoredEvent) => ev.type === 'session.status' && ev.status === 'archived'
      for await (const ev of log.subscribe(parentId, seq, archived, async () => false, stop.signal)) {
        events.push(ev)
        if (await this.isLastHeld(ev)) return events
        if (await this.passed(ev)) return undefined
      }
      return undefined
    } finally {
      clearTimeout(timer)
    }
  }

  /** Whether the parent's `ev` (not the last one the fork holds) ends the fork's last turn or starts another. */
  private async passed(ev: StoredEvent): Promise<boolean> {
    // a `before` head's turn runs in the parent: nothing comes before its start but other turns' ends
    if (this.head.before) return false
    if (ev.type === 'turn.started') return (await this.agentTurn(ev.turnId)) !== this.head.turnId
    if (ev.type === 'turn.completed' || ev.type === 'turn.failed')
      return (await this.agentTurn(ev.turnId)) === this.head.turnId
    return false
  }

  /** The first of `events` the fork does not hold (the parent's, after the last one it holds). */
  async firstBeyond(events: StoredEvent[]): Promise<StoredEvent | undefined> {
    for (const ev of events) if (await this.isBeyond(ev)) return ev
    return undefined
  }

  /**
   * The event of the last thing the fork holds: its last turn's end when it had ended, else its last item's; for a
   * `before` head, the start of the turn it holds none of (the point is right before it).
   */
  private async isLastHeld(ev: StoredEvent): Promise<boolean> {
    const { head } = this
    if (head.before) return ev.type === 'turn.started' && (await this.agentTurn(ev.turnId)) === head.turnId
    if (head.ended)
      return (
        (ev.type === 'turn.completed' || ev.type === 'turn.failed') &&
        (await this.agentTurn(ev.turnId)) === head.turnId
      )
    const last = head.items.at(-1)
    if (last !== undefined) return completedItem(ev) === last
    return ev.type === 'turn.started' && (await this.agentTurn(ev.turnId)) === head.turnId
  }

  /**
   * Whether the fork does not hold `ev`, an event after the last one it holds: a turn's start or end, or an item
   * completed that its last turn does not hold (the gateway's own items of the turn, its plan and errors, named
   * `<agent turn id>:...`, are neither).
   */
  private async isBeyond(ev: StoredEvent): Promise<boolean> {
    if (ev.type === 'turn.started' || ev.type === 'turn.completed' || ev.type === 'turn.failed') return true
    const id = completedItem(ev)
    return id !== undefined && !this.held.has(id) && !id.startsWith(`${this.head.turnId}:`)
  }

  /** The agent's own id of a gateway turn (stored with its `turn.started`). */
  private agentTurn(turnId: string | undefined): Promise<string | null | undefined> {
    if (turnId === undefined) return Promise.resolve(undefined)
    let known = this.agentTurns.get(turnId)
    if (!known) {
      known = this.store.getTurn(turnId).then((t) => t?.agentTurnId)
      this.agentTurns.set(turnId, known)
    }
    return known
  }
}

/** The id of the item `ev` completes: a mapped item's, or one the driver passed on raw (codex's user messages). */
function completedItem(ev: StoredEvent): string | undefined {
  if (ev.type === 'item.completed') return ev.item.id
  if (ev.type !== 'agent.raw') return undefined
  const payload = ev.payload as { method?: unknown; params?: { item?: { id?: unknown } } } | null
  if (payload?.method !== 'item/completed') return undefined
  const id = payload.params?.item?.id
  return typeof id === 'string' ? id : undefined
}
