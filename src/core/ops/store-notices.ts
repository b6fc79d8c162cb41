import { isStoreBusy } from '../../util/store-busy.js'
import type { NoticeLogger } from './fencing-notices.js'

/**
 * What the gateway tells an operator when the store fails to record a run's or a turn's end (its disk full, its
 * database down): counts the metrics read at scrape time (metrics.ts), and one log line per failed attempt. The
 * end is tried again (end-retry.ts) until it is stored or the gateway stops. The core starts before the HTTP
 * layer's logger exists: lines come once one is attached.
 */
export class StoreNotices {
  /** Attempts to record a run's or a turn's end that the store failed. */
  endFailures = 0
  /** Store outages whose held events (runs', turns') were all stored once it took writes again. */
  outagesRidden = 0
  /**
   * Holds of runs' and turns' events through locks another client of the store held (55P03: an operator's or
   * another node's open transaction, a LOCK TABLE), all stored once the lock was let go: the server answered
   * throughout, so no outage (not in outagesRidden).
   */
  lockWaitsRidden = 0
  /** Store outages that outlasted the grace (or the gateway's stop) for some held events: their runs or turns failed. */
  outagesGivenUp = 0
  private logger: NoticeLogger | undefined

  attach(logger: NoticeLogger): void {
    this.logger = logger
  }

  /** Runs left `queued` with no job in the workers' queue, whose jobs the lost-job check sent again (lost-job-check.ts). */
  jobsResent(runIds: string[]): void {
    this.logger?.warn(
      { runIds },
      `${runIds.length} queued run(s) had no job in the workers' queue (a send lost): their jobs were sent again`,
    )
  }

  /**
   * A worker's poll of the workers' queue failed (`err` names the statement: the store hangs or cannot be reached),
   * the first of a series: it polls again every 0.1 s; `unfinished` jobs' give-backs or completions are kept for then.
   */
  queueFailing(err: unknown, unfinished: number): void {
    const error = (err as Error)?.message ?? String(err)
    const kept =
      unfinished > 0
        ? `; ${unfinished} fetched job(s) to give back or complete are kept for the next poll`
        : ''
    this.logger?.warn(
      { err: error, unfinished },
      `this worker's poll of the workers' queue failed (${error}): it polls again until the store answers${kept} (jobs a cut fetch took are handed out again once they expire)`,
    )
  }

  /** A worker's poll went through after `failures` failed ones. */
  queueAnswering(failures: number): void {
    this.logger?.warn(
      { failures },
      `the workers' queue answers this worker's polls again, after ${failures} failed`,
    )
  }

  /** A lost-job check failed (`err`: the store hangs or cannot be reached): the next one, `everyMs` later, goes on. */
  lostJobCheckFailed(err: unknown, everyMs: number): void {
    const error = (err as Error)?.message ?? String(err)
    this.logger?.warn(
      { err: error },
      `the lost-job check failed (${error}); the next check, in ${everyMs / 1000} s (LOST_JOB_CHECK_SECONDS), looks again`,
    )
  }

  /** `what` (`run <id>`, `turn <id> of session <id>`) could not be recorded; tried again in `retryInMs`. */
  endFailed(what: string, ids: Record<string, string>, err: unknown, retryInMs: number | undefined): void {
    this.endFailures++
    const error = (err as Error)?.message ?? String(err)
    if (retryInMs !== undefined) {
      this.logger?.error(
        { ...ids, err: error, retryInMs },
        `recording the end of ${what} failed (${error}); trying again in ${retryInMs} ms`,
      )
      return
    }
    this.logger?.error(
      { ...ids, err: error },
      `recording the end of ${what} failed (${error}); the gateway stops: its next start records it`,
    )
  }

  /** The store refused the held events' connection (`err`): they are tried again for up to `graceMs`. */
  eventsHeld(err: unknown, graceMs: number): void {
    const error = (err as Error)?.message ?? String(err)
    // a lock another client holds is no outage: said so, not taken for a refused connection
    const what = isStoreBusy(err)
      ? 'a lock another client of the store holds ended a write'
      : 'the store refused a connection'
    this.logger?.warn(
      { err: error, graceMs },
      `${what} (${error}); runs' and turns' events are held and tried again for up to ${graceMs} ms`,
    )
  }

  /**
   * Held events were given up after `heldMs` (past the grace, or the gateway stops): their runs and turns fail.
   * Once an outage.
   */
  eventsGivenUp(err: unknown, heldMs: number): void {
    this.outagesGivenUp++
    const error = (err as Error)?.message ?? String(err)
    this.logger?.error(
      { err: error, heldMs: Math.round(heldMs) },
      `the store still refuses connections (${error}) after ${Math.round(heldMs)} ms: the held events are given up, their runs and turns fail`,
    )
  }

  /**
   * The store took a held commit after `heldMs`: runs and turns go on. `gaveUp`: some held events were given up
   * meanwhile (eventsGivenUp counted the outage). `lockWaitOnly`: every refusal was a lock another client held
   * (counted in lockWaitsRidden, not as an outage).
   */
  eventsStored(heldMs: number, gaveUp = false, lockWaitOnly = false): void {
    if (!gaveUp) {
      if (lockWaitOnly) this.lockWaitsRidden++
      else this.outagesRidden++
    }
    const what = lockWaitOnly ? 'the lock another client held was let go' : 'the store takes writes again'
    this.logger?.warn({ heldMs: Math.round(heldMs) }, gaveUp ? what : `${what}: the held events are stored`)
  }

  /**
   * The stop waited `waitedMs` for the store's server and destroyed its connections: `commitsUnknown` COMMITs sent
   * and not answered were among them, whether the server applied them is unknown.
   */
  storeAbandoned(waitedMs: number, commitsUnknown: number): void {
    const unknown =
      commitsUnknown > 0
        ? `; ${commitsUnknown === 1 ? '1 COMMIT' : `${commitsUnknown} COMMITs`} sent and not answered: whether ${commitsUnknown === 1 ? 'it was' : 'they were'} stored is unknown (the server applies or drops ${commitsUnknown === 1 ? 'it' : 'them'} when it answers again; this node's record stays, so its runs and sessions are taken over as a lost node's)`
        : ''
    this.logger?.error(
      { waitedMs, commitsUnknown },
      `the stop waited ${waitedMs} ms for the store's PostgreSQL server (STORE_QUERY_TIMEOUT_SECONDS), which did not answer: its connections were destroyed${unknown}`,
    )
  }

  /**
   * The stop's bound for the store (`waitedMs`) passed before this node's record was removed: its connections were
   * destroyed, so the record stays and the node that finds it dead takes over what it names, as a lost node's.
   */
  nodeLeftAfterBound(waitedMs: number): void {
    this.logger?.warn(
      { waitedMs },
      `this node's record is not removed: the stop's bound for the store (${waitedMs} ms, STORE_QUERY_TIMEOUT_SECONDS) passed and its connections are gone; the node that finds it dead takes over what it names, as a lost node's`,
    )
  }

  /** A step of the stop that the store failed (`what`): the stop goes on without it. */
  stopFailed(what: string, err: unknown): void {
    const error = (err as Error)?.message ?? String(err)
    this.logger?.error({ err: error }, `${what} failed at the stop (${error}); the stop goes on`)
  }
}
