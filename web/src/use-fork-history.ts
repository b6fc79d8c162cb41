import { useEffect, useState } from 'preact/hooks'
import type { Schemas } from '../../src/client/index.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import { call, client, errorText } from './api.js'
import { eventsOfTurn } from './turn-events.js'
import { cachedEvents, parseEvent } from './use-events.js'

type Session = Schemas['Session']
type SessionWithTurns = Session & { turns: Schemas['Turn'][] }

/** A turn a fork holds from an ancestor: the turn as its session stored it, with its events. */
export interface InheritedTurn {
  turn: Schemas['Turn']
  sessionId: string
  events: StoredEvent[]
}

export interface ForkHistory {
  /**
   * The fork's parent, and how many turns the fork holds from its ancestors in all (its fork point, "at turn N"):
   * undefined while they load, or when an ancestor was forked before the gateway kept fork points.
   */
  parent: string
  atTurn: number | undefined
  /** The inherited turns, oldest first (a fork of a fork holds its grandparent's too). */
  turns: InheritedTurn[]
  /** An ancestor forked before the gateway kept fork points: what it holds from its own parent is in that view. */
  olderIn?: string
  state: 'loading' | 'done' | 'error'
  error?: string
}

/** How many forks of forks are followed back (a chain longer than this is shown from its last ones). */
const maxDepth = 20

/**
 * The history a fork starts with, which its own turns and events do not hold: the first `forkedAtTurn` turns of
 * its parent with the parent's events up to `forkedAtSeq` (and the same for the parent, when it is a fork too).
 * Read once: what came before a fork point never changes. Null for a session that is not a fork.
 */
export function useForkHistory(session: Session | null): ForkHistory | null {
  const parent = session?.forkedFrom ?? null
  const [history, setHistory] = useState<ForkHistory | null>(null)
  useEffect(() => {
    if (!session || !parent) return setHistory(null)
    const abort = new AbortController()
    const base: ForkHistory = { parent, atTurn: undefined, turns: [], state: 'loading' }
    setHistory(base)
    ;(async () => {
      const turns: InheritedTurn[] = []
      let fork: Session = session
      for (let depth = 0; depth < maxDepth && fork.forkedFrom; depth++) {
        const { forkedFrom, forkedAtTurn, forkedAtSeq } = fork
        if (forkedAtTurn === undefined || forkedAtSeq === undefined) return { olderIn: forkedFrom, turns }
        const from = (await call(
          client.api.GET('/v1/sessions/{id}', { params: { path: { id: forkedFrom } } }),
        )) as SessionWithTurns
        const events = await eventsUpTo(forkedFrom, forkedAtSeq, abort.signal)
        const held = from.turns.slice(0, forkedAtTurn)
        turns.unshift(
          ...held.map((turn) => ({ turn, sessionId: from.id, events: eventsOfTurn(events, turn.id) })),
        )
        fork = from
      }
      return { turns, atTurn: turns.length }
    })().then(
      (found) => {
        if (!abort.signal.aborted) setHistory({ ...base, ...found, state: 'done' })
      },
      (err: unknown) => {
        if (!abort.signal.aborted) setHistory({ ...base, state: 'error', error: errorText(err) })
      },
    )
    return () => abort.abort()
  }, [session?.id, parent])
  return history
}

/** A session's events up to `seq`: what this tab has seen of it, then the rest from the gateway (a replay). */
async function eventsUpTo(id: string, seq: number, signal: AbortSignal): Promise<StoredEvent[]> {
  const events = cachedEvents('session', id).filter((ev) => ev.seq <= seq)
  const after = events.at(-1)?.seq ?? 0
  if (after >= seq) return events
  for await (const raw of client.sessionEvents(id, { after, signal, until: (ev) => ev.seq >= seq })) {
    if (raw.seq > seq) break
    events.push(parseEvent(raw))
  }
  return events
}
