import { useEffect, useState } from 'preact/hooks'
import type { Schemas } from '../../src/client/index.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import { call, client, errorText } from './api.js'
import { type InheritedTurn as ChainTurn, chainHistory, type ForkLink } from './fork-chain.js'
import { cachedEvents, parseEvent } from './use-events.js'

type Session = Schemas['Session']
type SessionWithTurns = Session & { turns: Schemas['Turn'][] }

export type InheritedTurn = ChainTurn<Schemas['Turn']>

export interface ForkHistory {
  /**
   * The fork's parent, and how many turns the fork holds from its ancestors in all (its fork point, "at turn N"):
   * undefined while they load, or when an ancestor was forked before the gateway kept fork points.
   */
  parent: string
  atTurn: number | undefined
  /**
   * Whether the last turn it holds was running at its fork point ("during turn N"): its parent's, or for a fork of
   * a fork that had run no turn of its own, an ancestor's (fork-chain.ts).
   */
  cut: boolean
  /** The inherited turns, oldest first (a fork of a fork holds its grandparent's too). */
  turns: InheritedTurn[]
  /** An ancestor forked before the gateway kept fork points: what it holds from its own parent is in that view. */
  olderIn?: string
  state: 'loading' | 'done' | 'error'
  error?: string
  /** Reads it again (after an error). */
  retry: () => void
}

/** How many forks of forks are followed back (a chain longer than this is shown from its last ones). */
const maxDepth = 20

/**
 * The history a fork starts with, which its own turns and events do not hold: the first `forkedAtTurn` turns its
 * parent ran (not one that ended queued: the gateway counts those that started) with the parent's events up to
 * `forkedAtSeq`, and the parent's turn that was running then, cut there (and the same for the parent, when it is a
 * fork too: fork-chain.ts). Read once: what came before a fork point never changes.
 * Null for a session that is not a fork.
 */
export function useForkHistory(session: Session | null): ForkHistory | null {
  const parent = session?.forkedFrom ?? null
  const [history, setHistory] = useState<ForkHistory | null>(null)
  const [attempt, setAttempt] = useState(0)
  useEffect(() => {
    if (!session || !parent) return setHistory(null)
    const abort = new AbortController()
    const retry = () => setAttempt((n) => n + 1)
    const base: ForkHistory = { parent, atTurn: undefined, cut: false, turns: [], state: 'loading', retry }
    setHistory(base)
    ;(async () => {
      const links: ForkLink<Schemas['Turn']>[] = []
      let olderIn: string | undefined
      let fork: Session = session
      for (let depth = 0; depth < maxDepth && fork.forkedFrom; depth++) {
        const { forkedFrom, forkedAtTurn, forkedAtSeq } = fork
        if (forkedAtTurn === undefined || forkedAtSeq === undefined) {
          olderIn = forkedFrom
          break
        }
        const from = (await call(
          client.api.GET('/v1/sessions/{id}', { params: { path: { id: forkedFrom } } }),
        )) as SessionWithTurns
        links.push({
          parent: from,
          forkedAtTurn,
          events: await eventsUpTo(forkedFrom, forkedAtSeq, abort.signal),
        })
        fork = from
      }
      const { turns, cut } = chainHistory(links)
      return olderIn === undefined ? { turns, atTurn: turns.length, cut } : { olderIn, turns, cut }
    })().then(
      (found) => {
        if (!abort.signal.aborted) setHistory({ ...base, ...found, state: 'done' })
      },
      (err: unknown) => {
        if (!abort.signal.aborted) setHistory({ ...base, state: 'error', error: errorText(err) })
      },
    )
    return () => abort.abort()
  }, [session?.id, parent, attempt])
  return history
}

/**
 * A session's events up to `seq`: what this tab has seen of it, then the rest from the gateway (a replay). Read
 * once: a stream that drops or ends before `seq` (the gateway gone, a proxy's 502, the network down) is an error
 * to show, not one to retry for ever as a live view does.
 */
async function eventsUpTo(id: string, seq: number, signal: AbortSignal): Promise<StoredEvent[]> {
  const events = cachedEvents('session', id).filter((ev) => ev.seq <= seq)
  const after = events.at(-1)?.seq ?? 0
  if (after >= seq) return events
  const stop = new AbortController()
  const stopWith = () => stop.abort()
  signal.addEventListener('abort', stopWith, { once: true })
  let failure: unknown
  const onReconnect = (_seq: number, err: unknown) => {
    failure = err
    stop.abort()
  }
  try {
    for await (const raw of client.sessionEvents(id, {
      after,
      signal: stop.signal,
      onReconnect,
      until: (ev) => ev.seq >= seq,
    })) {
      if (raw.seq > seq) break
      events.push(parseEvent(raw))
    }
  } catch (err) {
    throw failure ?? err
  } finally {
    signal.removeEventListener('abort', stopWith)
  }
  if (failure !== undefined) throw failure
  if ((events.at(-1)?.seq ?? 0) < seq)
    throw new Error(`its events end at ${events.at(-1)?.seq ?? 0}, before the fork point (${seq})`)
  return events
}
