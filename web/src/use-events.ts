import { useEffect, useState } from 'preact/hooks'
import { ApiError } from '../../src/client/index.js'
import { agentEvent, type StoredEvent } from '../../src/protocol/events.js'
import { client, errorText, needsToken } from './api.js'

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'done' | 'error'

const cacheLimit = 1_000_000

/**
 * The events of a run or a session, replayed then live. What was seen is kept in sessionStorage, so a reload
 * resumes after the last seq seen (Last-Event-ID); a dropped connection resumes the same way. Each seq is kept
 * once: nothing lost, nothing doubled.
 */
export function useEvents(kind: 'run' | 'session', id: string) {
  const key = cacheKey(kind, id)
  const [events, setEvents] = useState<StoredEvent[]>(() => readCache(key))
  const [state, setState] = useState<StreamState>('connecting')
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    const abort = new AbortController()
    let seen = readCache(key)
    const after = seen.at(-1)?.seq ?? 0
    const onReconnect = () => setState('reconnecting')
    // live once the connection is open, not only when an event comes: an idle session may send none for long
    const onConnected = () => setState('live')
    // Written at most every 300 ms (and when the page goes away), not once per event.
    let timer: ReturnType<typeof setTimeout> | undefined
    const flush = () => {
      clearTimeout(timer)
      timer = undefined
      writeCache(key, seen)
    }
    const save = () => {
      timer ??= setTimeout(flush, 300)
    }
    window.addEventListener('pagehide', flush)
    const stream =
      kind === 'run'
        ? client.runEvents(id, { after, signal: abort.signal, onReconnect, onConnected })
        : client.sessionEvents(id, { after, signal: abort.signal, onReconnect, onConnected })
    ;(async () => {
      if (isLast(seen.at(-1))) return setState('done')
      try {
        for await (const raw of stream) {
          setState('live')
          if (seen.length > 0 && raw.seq <= seen.at(-1)!.seq) continue
          seen = [...seen, parseEvent(raw)]
          setEvents(seen)
          save()
        }
        setState('done')
      } catch (err) {
        if (abort.signal.aborted) return
        if (err instanceof ApiError && err.status === 401) needsToken.value = true
        setError(errorText(err))
        setState('error')
      }
    })()
    return () => {
      abort.abort()
      flush()
      window.removeEventListener('pagehide', flush)
    }
  }, [kind, id])
  return { events, state, error }
}

/** Parsed at the boundary: a type this console does not know is still kept (shown raw). */
export function parseEvent(raw: StoredEvent): StoredEvent {
  const parsed = agentEvent.safeParse(raw)
  return (parsed.success ? { ...raw, ...parsed.data } : raw) as StoredEvent
}

/** The events of a run or session this tab has seen (what `useEvents` keeps), from its first on. */
export const cachedEvents = (kind: 'run' | 'session', id: string) => readCache(cacheKey(kind, id))

const cacheKey = (kind: 'run' | 'session', id: string) => `agent-gateway.events.${kind}.${id}`

/** The event after which a stream has nothing more: a run's end, a session's archive. */
const isLast = (ev: StoredEvent | undefined) =>
  ev?.type === 'run.completed' || (ev?.type === 'session.status' && ev.status === 'archived')

function readCache(key: string): StoredEvent[] {
  try {
    return JSON.parse(sessionStorage.getItem(key) ?? '[]') as StoredEvent[]
  } catch {
    return []
  }
}

function writeCache(key: string, events: StoredEvent[]): void {
  try {
    const text = JSON.stringify(events)
    if (text.length < cacheLimit) sessionStorage.setItem(key, text)
    else sessionStorage.removeItem(key)
  } catch {
    sessionStorage.removeItem(key)
  }
}
