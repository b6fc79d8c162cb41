import { Redactor } from '../process/secrets.js'
import type { AgentEvent, StoredEvent } from '../protocol/events.js'
import { type EventBus, InProcessEventBus, type OwnedEvent } from '../store/event-bus.js'
import type { EventFence, EventToAppend, Store } from '../store/store.js'
import { AsyncQueue } from '../util/async-queue.js'
import { isStoreBusy } from '../util/store-busy.js'
import { isOutageBeforeWrite } from '../util/store-unavailable.js'
import { WakeSignal } from '../util/wake-signal.js'
import { EventLanes, type Lane } from './event-log-lanes.js'
import { coalesceOutput } from './output-coalescing.js'

const pageSize = 500
/** The most events one group commit stores in one transaction. */
const maxBatch = 500
/** Live events buffered for one slow subscriber before it falls back to re-reading the store. */
const maxBuffered = 1000
/**
 * The output they carry, at most, for one slow subscriber (a client that does not read): an event of coalesced output
 * holds up to 64 KB, so the count alone let one such client hold 64 MB of a run's output, and a hundred of them the
 * gateway's memory.
 */
const maxBufferedBytes = 1024 * 1024
/** Events a subscriber that fell behind reads from the store at a time while it catches up (at most; see pageAfter). */
const catchUpPage = 100
/**
 * The output a subscriber's next page read from the store may carry, about: what a stalled client's subscription
 * holds while its stream waits at one of the page's events. 500 events of coalesced output (up to 64 KB each) held
 * up to 32 MB for one client that stopped reading, and as much again in the JSON text they were read from.
 */
const pageBytes = 1024 * 1024
/** The fewest events a subscriber's page reads (its first page reads this many: their size is not known yet). */
const minPage = 16

/** How many events a subscriber's next page reads: up to `max`, as many as `pageBytes` holds at the last page's size. */
function pageAfter(last: readonly StoredEvent[], max: number): number {
  if (last.length === 0) return minPage
  let bytes = 0
  for (const ev of last) bytes += bufferedSize(ev)
  return Math.max(minPage, Math.min(max, Math.floor(pageBytes / (bytes / last.length))))
}

/** About what an event buffered for a subscriber holds: its output or delta text; a nominal size for the rest. */
function bufferedSize(ev: StoredEvent): number {
  if (ev.type === 'output') return ev.data.length
  if (ev.type === 'item.delta') return ev.delta.length
  return 512
}
/**
 * A log that committed nothing for this long is idle: the next event is committed as soon as the code that
 * appended it returns (process.nextTick) instead of when the event loop comes round (setImmediate).
 */
const idleAfterMs = 1

interface Queued extends EventToAppend {
  stored: (ev: StoredEvent) => void
  failed: (err: unknown) => void
  /** Held through a store outage (outageGraceMs) rather than failed at once: a run's or a turn's stream. */
  hold?: boolean
}

/** A store step that appends events of its own in its transaction (EventLog.commitWith), queued as one entry. */
interface QueuedWrite {
  ownerId: string
  /** `tx`: the transaction the log groups it in (commitWith). */
  write: (tx?: Store) => Promise<StoredEvent[]>
  done: (events: StoredEvent[]) => void
  failed: (err: unknown) => void
  hold?: boolean
}

/** Waits between the attempts of entries held through a store outage: short, the last repeated. */
const outageRetryMs: readonly number[] = [100, 200, 500, 1000]

const isWrite = (q: Queued | QueuedWrite): q is QueuedWrite => 'write' in q

/**
 * Every event is stored, then published on the EventBus. Appends are group-committed: the events queued
 * by the time the event loop comes round (a burst of agent output) are stored in one transaction, then
 * published in order, together (one EventBus.publish per commit: PgEventBus announces it with one statement);
 * nothing is published before it is stored. An event that arrives after a quiet spell (a paced agent's next line)
 * does not wait for the loop to come round: what its producer appends in the same callback is committed once that
 * callback returns, so it reaches subscribers a loop phase earlier; a burst finds the log busy and is grouped by
 * loop turn as before. A subscriber replays what is stored after its cursor,
 * then follows live events; it listens before it reads, and skips what it already sent, so it sees no gap and
 * no duplicate, whichever process published. Adjacent `output` chunks of one owner's stream queued for the same
 * commit are stored as one event (output-coalescing.ts); each of their appends resolves with it. On a store whose
 * commit costs round trips (PostgreSQL: Store.inOneTransaction), the store steps queued with commitWith (a turn's
 * start, its agent turn id, its end, a state stored alone: each with its events) are committed with the events
 * queued around them in one transaction, so many sessions' turns share the log's commits instead of each step
 * taking one of its own. There, too, the queue is
 * split in lanes (Store.commitLanes; event-log-lanes.ts), each a serial flush of its own: the commits of owners in
 * different lanes run at once, an owner's entries stay in one lane (its order and seqs as in one queue).
 */
export class EventLog {
  private readonly taps: ((ev: StoredEvent) => void)[] = []
  /** Ends each live subscription (`endSubscriptions`); none is added once `subscriptionsEnded`. */
  private readonly liveEnds = new Set<() => void>()
  private subscriptionsEnded = false
  private readonly lanes: EventLanes<Queued | QueuedWrite>

  /**
   * `redactor` replaces the gateway's secret values in every event before it is stored or published; `lanes`, how
   * many commits may run at once (each for other owners).
   */
  constructor(
    private readonly store: Store,
    private readonly bus: EventBus = new InProcessEventBus(),
    readonly redactor: Redactor = new Redactor([]),
    lanes: number = store.commitLanes ?? 1,
  ) {
    this.lanes = new EventLanes(store.inOneTransaction ? lanes : 1)
  }

  /**
   * How long a reader that found its owner's record ended waits for the terminal event not stored, before it takes
   * what is stored as the end (tests shorten it). An end is stored with its record (a run's: recordRunEnd, a
   * session's archive: SessionState), so only history written otherwise waits: a run of a node of an earlier
   * version that died between its record and its run.completed.
   */
  endGraceMs = 10_000

  /**
   * How long entries appended with `hold` (a run's and a turn's events: EventPipe) ride over a store that refuses
   * their connection (STORE_OUTAGE_GRACE_SECONDS: a PostgreSQL restart, a failover): their commit is tried again,
   * with a short backoff, while nothing of it can have reached the server (isOutageBeforeWrite), and their lane
   * waits meanwhile (an owner's events keep their order; nothing is published before it is stored). Past it, from
   * the first refusal on, they fail as at once before. 0: they fail at once. Read at each refusal (the setting).
   */
  outageGraceMs: () => number = () => 0

  /**
   * Told when held entries begin riding over an outage, when the first of them is given up (past the grace, or the
   * gateway stops: once an outage), and when the store takes them again (`gaveUp`: some were given up meanwhile;
   * `lockWaitOnly`: every refusal meanwhile was a lock another client held, isStoreBusy: the server answered
   * throughout, no outage) (StoreNotices).
   */
  outageNotices?: {
    held(err: unknown, graceMs: number): void
    gaveUp(err: unknown, heldMs: number): void
    over(heldMs: number, gaveUp: boolean, lockWaitOnly: boolean): void
  }

  /**
   * About the bytes (eventBytes) of the events EventPipes appended that are not yet stored or failed, every run's and
   * turn's together: what a store outage holds in memory (EventPipe keeps it). Past `maxPipedBytes`
   * (STORE_OUTAGE_HELD_MAX_BYTES), a pipe's push waits for its event to be stored, as past its 1000 events in flight.
   */
  pipedBytes = 0
  maxPipedBytes: () => number = () => Number.POSITIVE_INFINITY

  /** The waits between the attempts of held entries (the last repeated; tests lengthen them). */
  outageRetryMs: readonly number[] = outageRetryMs

  /** Since when (performance.now()) the store refused the held entries' connections; undefined once one commits. */
  private outageSince: number | undefined
  /** Whether entries held through the current outage were given up (told once: outageNotices.gaveUp). */
  private outageGivenUp = false
  /** Whether every refusal of the current hold was a lock wait PostgreSQL ended (isStoreBusy), not an outage. */
  private outageLockWaitOnly = false
  /** Entries (events, writes) held through an outage now: waiting for the store to take their commit. */
  private heldNow = 0
  /** Ends the waits of the commits held through an outage (drain: the gateway stops, nothing is held any more). */
  private readonly riders = new WakeSignal()
  private stopping = false

  /** Whether held entries are waiting for the store to take connections again (an EventPipe stops reading then). */
  get holding(): boolean {
    return this.outageSince !== undefined
  }

  /** How many entries (events, and store steps with theirs) are held through an outage now (a metric's gauge). */
  get held(): number {
    return this.heldNow
  }

  /**
   * The store answers again (Store.onSpaceBack: a query of any caller's answered after its server was unavailable):
   * the held entries are tried again now, not after the rest of their wait.
   */
  storeBack(): void {
    this.riders.wake()
  }

  /** Events this log redacted already (a run redacts before it looks at an event, then appends it). */
  private readonly redacted = new WeakSet<AgentEvent>()

  /** The event with every known secret value replaced (the last line of defence; agents are told first). */
  redact<E extends AgentEvent>(event: E): E {
    if (this.redactor.empty || this.redacted.has(event)) return event
    const clean = this.redactor.value(event)
    this.redacted.add(clean)
    return clean
  }

  /**
   * Stores the event (with the others queued by now, in one transaction), then publishes it. With `fence` (the
   * session's claim the appending node holds, or the node that executes the run: EventFence), only while that
   * holds: it fails with SessionTakenOver or RunTakenOver once another node took the owner over, and nothing of it
   * is stored.
   */
  append(ownerId: string, event: AgentEvent, fence?: EventFence, hold = false): Promise<StoredEvent> {
    return new Promise((stored, failed) => {
      const at = new Date().toISOString()
      const lane = this.lanes.push({ ownerId, event: this.redact(event), at, fence, stored, failed, hold })
      if (lane.queue.length === 1 && !lane.flushing) {
        if (performance.now() - lane.lastCommit > idleAfterMs) process.nextTick(() => void this.flush(lane))
        else setImmediate(() => void this.flush(lane))
      }
    })
  }

  /**
   * Appends `event` and commits what is queued (in its lane) at once: its producer knows nothing more comes with it
   * (a run's first or last event, a turn's end), so its waiters need not wait a loop turn.
   */
  appendNow(ownerId: string, event: AgentEvent, fence?: EventFence): Promise<StoredEvent> {
    return new Promise((stored, failed) => {
      const at = new Date().toISOString()
      void this.flush(this.lanes.push({ ownerId, event: this.redact(event), at, fence, stored, failed }))
    })
  }

  /**
   * Commits what is queued now instead of when the event loop comes round, for a producer that knows nothing
   * more is coming (a session turn that ended): its waiters need not wait a loop turn. Each append's own
   * promise still says when its event is stored.
   */
  commitNow(): void {
    for (const lane of this.lanes.all) if (lane.queue.length > 0) void this.flush(lane)
  }

  /**
   * Runs `write`, a store step that appends events of `ownerId` in its own transaction (a turn's end with its
   * events: Store.completeTurnWithEvents), once everything appended before it is stored and before anything
   * appended after it; then publishes the events it stored, in order, as a commit does. Committed at once (its
   * producer waits for it). Where a commit costs round trips (Store.inOneTransaction: PostgreSQL), it commits in
   * one transaction with the events and other writes queued around it (commitGroup); elsewhere on its own.
   * `write` gets `tx`, the store to make its calls on there (Store.inOneTransaction), undefined where it commits on
   * its own. Resolves with what `write` returned.
   */
  commitWith<T extends { events: StoredEvent[] }>(
    ownerId: string,
    write: (tx: Store | undefined) => Promise<T>,
    /** Held through a store outage, as a run's or a turn's events are (outageGraceMs). */
    hold = false,
  ): Promise<T> {
    return new Promise<T>((resolve, failed) => {
      let result: T
      const lane = this.lanes.push({
        ownerId,
        hold,
        write: async (tx) => {
          result = await write(tx)
          return result.events
        },
        done: () => resolve(result),
        failed,
      })
      // its lane at once; the other lanes' groups fill on as they would
      void this.flush(lane)
    })
  }

  /** Events queued and not yet stored. */
  get backlog(): number {
    return this.lanes.backlog
  }

  /**
   * Resolves once everything appended so far is stored and published (or failed): before the store closes. What
   * is held through an outage fails now rather than at the end of its grace (the gateway stops).
   */
  async drain(): Promise<void> {
    this.stopping = true
    this.riders.wake()
    this.commitNow()
    await this.lanes.whenIdle()
  }

  /**
   * Ends every live subscription once it has handed on what it holds, and every later one after its replay: a
   * stopping gateway's followers get what it stored, then their stream ends (an SSE client resumes elsewhere with
   * Last-Event-ID) instead of holding the connection open until the stop cuts it. Call after `drain`.
   */
  endSubscriptions(): void {
    this.subscriptionsEnded = true
    for (const end of this.liveEnds) end()
    this.liveEnds.clear()
  }

  /** Commits a lane's queue, one commit after the other (another lane's run beside it). */
  private async flush(lane: Lane<Queued | QueuedWrite>): Promise<void> {
    if (lane.flushing) return
    lane.flushing = true
    const queue = lane.queue
    try {
      for (let first = true; queue.length > 0; first = false) {
        // what the last commit published goes out before the next commit runs (see sentFirst)
        if (!first) await sentFirst()
        // where a commit costs round trips, the writes go with the events around them, in one transaction
        if (this.store.inOneTransaction && queue.slice(0, maxBatch).some(isWrite)) {
          const group = queue.splice(0, maxBatch)
          await this.commitGroup(group)
          this.lanes.settled(group)
          continue
        }
        const head = queue[0]!
        if (isWrite(head)) {
          queue.shift()
          await this.commitWrite(head)
          this.lanes.settled([head])
          continue
        }
        // the events up to the next write (it commits on its own, after them)
        const write = queue.findIndex(isWrite)
        const events = queue.splice(0, write < 0 ? maxBatch : Math.min(write, maxBatch)) as Queued[]
        await this.commit(coalesceOutput(events, merged))
        this.lanes.settled(events)
      }
    } finally {
      lane.flushing = false
      lane.lastCommit = performance.now()
      this.lanes.stopped()
    }
  }

  private async commit(batch: Queued[]): Promise<void> {
    let stored: StoredEvent[]
    try {
      stored = await this.riding(batch, () =>
        batch.length === 1 ? this.storeOne(batch[0]!).then((ev) => [ev]) : this.store.appendEvents(batch),
      )
    } catch (err) {
      // One bad event (an owner deleted meanwhile) must not fail the others: store them one by one.
      if (batch.length === 1) return batch[0]!.failed(err)
      for (const q of batch) await this.commit([q])
      return
    }
    this.bus.publish(stored.map((event, i) => ({ ownerId: batch[i]!.ownerId, event })))
    for (const [i, ev] of stored.entries()) {
      for (const tap of this.taps) tap(ev)
      batch[i]!.stored(ev)
    }
  }

  /**
   * Queued events and writes (commitWith) in one transaction of the store (Store.inOneTransaction), in queue order,
   * then published in that order. When the transaction fails (a write refused, an event's stale fence), each part
   * is committed on its own, as without grouping, so the refusal is its producer's alone.
   */
  private async commitGroup(entries: (Queued | QueuedWrite)[]): Promise<void> {
    const parts: (Queued[] | QueuedWrite)[] = []
    for (let i = 0; i < entries.length; ) {
      const entry = entries[i]!
      if (isWrite(entry)) {
        parts.push(entry)
        i++
        continue
      }
      const next = entries.findIndex((e, j) => j > i && isWrite(e))
      const end = next < 0 ? entries.length : next
      parts.push(coalesceOutput(entries.slice(i, end) as Queued[], merged))
      i = end
    }
    let stored: StoredEvent[][]
    try {
      stored = await this.riding(entries, () =>
        this.store.inOneTransaction!(async (tx) => {
          const each: StoredEvent[][] = []
          for (const part of parts)
            each.push(Array.isArray(part) ? await tx.appendEvents(part) : await part.write(tx))
          return each
        }),
      )
    } catch {
      for (const part of parts) await (Array.isArray(part) ? this.commit(part) : this.commitWrite(part))
      return
    }
    const ownerOf = (part: Queued[] | QueuedWrite, j: number) =>
      (Array.isArray(part) ? part[j]! : part).ownerId
    this.bus.publish(
      parts.flatMap((part, i): OwnedEvent[] =>
        stored[i]!.map((event, j) => ({ ownerId: ownerOf(part, j), event })),
      ),
    )
    for (const [i, part] of parts.entries()) {
      const events = stored[i]!
      for (const [j, ev] of events.entries()) {
        for (const tap of this.taps) tap(ev)
        if (Array.isArray(part)) part[j]!.stored(ev)
      }
      if (!Array.isArray(part)) part.done(events)
    }
  }

  private async commitWrite(q: QueuedWrite): Promise<void> {
    let stored: StoredEvent[]
    try {
      stored = await this.riding([q], () => q.write())
    } catch (err) {
      return q.failed(err)
    }
    this.bus.publish(stored.map((event) => ({ ownerId: q.ownerId, event })))
    for (const ev of stored) for (const tap of this.taps) tap(ev)
    q.done(stored)
  }

  /**
   * `attempt`, a commit of `entries`, tried again while the store refuses its connection (isOutageBeforeWrite)
   * within the outage grace, when every entry is held (one that is not fails at once, as before: its part is then
   * committed on its own, commit's and commitGroup's fallback). The lane waits meanwhile.
   */
  private async riding<T>(entries: readonly { hold?: boolean }[], attempt: () => Promise<T>): Promise<T> {
    // counted in `held` from their first refusal until they commit or fail
    let counted = 0
    try {
      for (let i = 0; ; i++) {
        try {
          const result = await attempt()
          if (this.outageSince !== undefined) {
            this.outageNotices?.over(
              performance.now() - this.outageSince,
              this.outageGivenUp,
              this.outageLockWaitOnly,
            )
            this.outageSince = undefined
            this.outageGivenUp = false
          }
          return result
        } catch (err) {
          const graceMs = this.outageGraceMs()
          if (graceMs <= 0 || !isOutageBeforeWrite(err) || !entries.every((e) => e.hold)) throw err
          const now = performance.now()
          if (this.outageSince === undefined) {
            this.outageSince = now
            this.outageLockWaitOnly = true
            this.outageNotices?.held(err, graceMs)
          }
          // a lock another client holds (55P03) is no outage: the server answered
          if (!isStoreBusy(err)) this.outageLockWaitOnly = false
          if (counted === 0) {
            counted = entries.length
            this.heldNow += counted
          }
          const left = this.outageSince + graceMs - now
          if (left <= 0 || this.stopping) {
            if (!this.outageGivenUp) {
              this.outageGivenUp = true
              this.outageNotices?.gaveUp(err, now - this.outageSince)
            }
            throw err
          }
          const retryMs = this.outageRetryMs
          const wait = Math.min(retryMs[Math.min(i, retryMs.length - 1)]!, left)
          await this.riders.delay(wait)
        }
      }
    } finally {
      this.heldNow -= counted
    }
  }

  private storeOne(q: Queued): Promise<StoredEvent> {
    return this.store.appendEvent(q.ownerId, q.event, q.at, q.fence)
  }

  /** Sees every event once it is stored (metrics, webhooks, logs); a tap must not throw or block. */
  tap(listener: (ev: StoredEvent) => void): void {
    this.taps.push(listener)
  }

  /** Every stored event of an owner, in order (no live part). */
  async *replay(ownerId: string): AsyncGenerator<StoredEvent> {
    let last = 0
    while (true) {
      const page = await this.store.eventsAfter(ownerId, last, pageSize)
      yield* page
      if (page.length < pageSize) return
      last = page.at(-1)!.seq
    }
  }

  /**
   * Events of `runId` with seq > `after`, ending after the terminal event (`isTerminal`), or at once when the
   * run is already finished (`isFinished`) and nothing is left to send. `signal` detaches the subscriber.
   */
  async *subscribe(
    runId: string,
    after: number,
    isTerminal: (ev: StoredEvent) => boolean,
    isFinished: () => Promise<boolean>,
    signal?: AbortSignal,
  ): AsyncGenerator<StoredEvent> {
    const queue = new AsyncQueue<StoredEvent>()
    let overflowed = false
    let bufferedBytes = 0
    // A subscriber that does not keep up must not hold a run's output in memory: everything is in the store,
    // so past a bound (events, or the output they carry) its buffer is dropped and it catches up from there.
    const onEvent = (ev: StoredEvent) => {
      const size = bufferedSize(ev)
      if (queue.size >= maxBuffered || bufferedBytes + size > maxBufferedBytes) {
        overflowed = true
        queue.clear()
        bufferedBytes = 0
      }
      queue.push(ev)
      bufferedBytes += size
    }
    const onAbort = () => queue.close()
    let graceTimer: NodeJS.Timeout | undefined
    let graceOver = false
    const unsubscribe = this.bus.subscribe(runId, onEvent)
    signal?.addEventListener('abort', onAbort, { once: true })
    if (this.subscriptionsEnded) queue.close()
    else this.liveEnds.add(onAbort)
    try {
      let last = after
      // What is stored after the terminal event (history written late) is the stream's too: a reader that
      // replays gets everything stored by then, and the stream ends after it.
      let ended = false
      // Pages of about `pageBytes` (the first of `minPage` events), each event leaving its page as it is handed on
      // (as in the catch-up below): a client that stops reading during its replay holds one page's rest.
      for (let limit = minPage; !signal?.aborted; ) {
        const page = await this.store.eventsAfter(runId, last, limit)
        const full = page.length === limit
        limit = pageAfter(page, pageSize)
        for (let ev = page.shift(); ev !== undefined; ev = page.shift()) {
          yield ev
          last = ev.seq
          if (isTerminal(ev)) ended = true
        }
        if (!full) break
      }
      if (ended) return
      if (await isFinished()) {
        // It may have finished after the replay read: send whatever was stored since, then stop, but only after
        // its terminal event, stored with the record (an end the store refuses leaves neither: the reader follows
        // on until it is stored, end-retry.ts); a record ended without it is history written otherwise.
        const replayed = last > after
        const tail = await this.store.eventsAfter(runId, last, Number.MAX_SAFE_INTEGER)
        for (const ev of tail) {
          yield ev
          last = ev.seq
          if (isTerminal(ev)) ended = true
        }
        if (ended) return
        if (tail.length === 0 && !replayed && (await this.endedAt(runId, last, isTerminal))) return
        // Such an event may never come (a node of an earlier version that died between its two end writes, history
        // from before the event was written): the wait is bounded, then what is stored is the end.
        graceTimer = setTimeout(() => {
          graceOver = true
          queue.close()
        }, this.endGraceMs)
      }
      for await (const live of queue) {
        bufferedBytes = Math.max(0, bufferedBytes - bufferedSize(live))
        // Past the buffer bound, or a live event beyond the next seq (a bus across processes may skip or
        // reorder): read what is missing from the store, a page at a time (a slow reader holds one page).
        const behind = overflowed || live.seq > last + 1
        overflowed = false
        for (let page = behind ? [] : [live], more = behind, limit = minPage; ; ) {
          if (more) {
            page = await this.store.eventsAfter(runId, last, limit)
            more = page.length === limit
            limit = pageAfter(page, catchUpPage)
          }
          // Each event leaves the page as it is handed on: a stalled client's stream waits at one of them, and
          // the ones before it (read back for this subscriber alone, with their JSON text) need not stay in memory
          // for it; their frames wait in its socket's buffer.
          for (let ev = page.shift(); ev !== undefined; ev = page.shift()) {
            // A reader that resumed past the end of a live run still ends with it.
            if (ev.seq <= last && isTerminal(ev)) return
            if (ev.seq <= last) continue
            yield ev
            last = ev.seq
            if (isTerminal(ev)) return
          }
          if (!more) break
        }
      }
      if (graceOver)
        for (const ev of await this.store.eventsAfter(runId, last, Number.MAX_SAFE_INTEGER)) yield ev
    } finally {
      clearTimeout(graceTimer)
      unsubscribe()
      this.liveEnds.delete(onAbort)
      signal?.removeEventListener('abort', onAbort)
    }
  }

  /**
   * For a reader of a finished owner that got nothing past its cursor `seq`: whether the owner's stream is over
   * there (the event at `seq` is its terminal one, or there is none: the cursor is past the stored events), rather
   * than its terminal event still to come after `seq`.
   */
  private async endedAt(
    ownerId: string,
    seq: number,
    isTerminal: (ev: StoredEvent) => boolean,
  ): Promise<boolean> {
    const at = seq > 0 ? (await this.store.eventsAfter(ownerId, seq - 1, 1))[0] : undefined
    return at === undefined || at.seq !== seq || isTerminal(at)
  }
}

/**
 * Resolves after the ticks queued so far: a streamed response writes what it was given to its socket in a tick of
 * its own (Node corks it for the tick), and its subscriber got the events a commit published within the promise
 * jobs that follow the commit. A synchronous store (SQLite) would otherwise run the lane's next commit (a write
 * queued behind the events, a second batch) within those same jobs, so the frames of events already stored waited
 * on the socket for it. One tick between two commits of a flush, no turn of the event loop: nothing new is read
 * meanwhile, the order of commits and of publishes is as before.
 */
const sentFirst = () => new Promise<void>((resolve) => process.nextTick(resolve))

/** One queued entry for several adjacent output chunks: stored as one event, settling every part's append. */
function merged(first: Queued, data: string, parts: Queued[]): Queued {
  return {
    ownerId: first.ownerId,
    event: { ...first.event, data } as AgentEvent,
    at: first.at,
    fence: first.fence,
    hold: parts.every((q) => q.hold),
    stored: (ev) => {
      for (const q of parts) q.stored(ev)
    },
    failed: (err) => {
      for (const q of parts) q.failed(err)
    },
  }
}
