/**
 * Per-event step timestamps inside a gateway process, for bench/event-relay.ts `--trace` (bench only: installed by
 * bench/gateway-process.ts when AGW_BENCH_TRACE=1, never in a deployed gateway). Wraps, at run time, the points an
 * `output` event passes between the agent's pipe read and the client's socket:
 *   append       EventLog.append called (the read callback's chunk, decoded, is queued for the group commit)
 *   commitStart  the store's appendEvent(s) called (the group commit began: setImmediate, or at once)
 *   commitEnd    it returned (SQLite done; the event is published right after)
 *   write        ServerResponse.write of the event's SSE frame
 *   flush        the first write to a server socket after it (Node corks a chunked response until the next tick)
 * plus the gateway's main-thread scheduler counters at each append (/proc/thread-self/schedstat: time spent
 * runnable but waiting for a core) and its GC pauses, all on CLOCK_MONOTONIC in ms like the agent's `m`.
 * The bench runs one relay run at a time per gateway, so events are keyed by seq and cleared at each mark.
 */

import { readFileSync } from 'node:fs'
import { ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import path from 'node:path'
import { PerformanceObserver } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import v8 from 'node:v8'

/** CLOCK_MONOTONIC ms, as the agent's `m` and the bench's receive times. */
export const monoMs = () => Number(process.hrtime.bigint()) / 1e6

/** This thread's time waiting on a run queue (runnable, not running), ms since it started. */
export function runQueueWaitMs(): number {
  try {
    const [, wait] = readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')
    return Number(wait) / 1e6
  } catch {
    return Number.NaN
  }
}

export interface GatewayEventTrace {
  seq: number
  append?: number
  /** Run-queue wait of the gateway's main thread, ms since start, read at `append`. */
  waitAtAppend?: number
  commitStart?: number
  commitEnd?: number
  /** Events stored by the same store call (1: a lone event). */
  batch?: number
  write?: number
  flush?: number
}

export interface GcPause {
  start: number
  ms: number
  /** perf_hooks GC kind: 1 minor (scavenge), 2 major, 4 incremental, 8 weak callbacks. */
  kind: number
}

export interface GatewayTrace {
  events: GatewayEventTrace[]
  gc: GcPause[]
  /** V8's young generation (new space) capacity at the end, KB: a scavenge runs each time this much was allocated. */
  newSpaceKb?: number
}

interface Appendable {
  append(ownerId: string, event: { type: string }): Promise<{ seq: number }>
}

interface StoreLike {
  appendEvent(...args: unknown[]): Promise<{ seq: number; type: string }>
  appendEvents(...args: unknown[]): Promise<{ seq: number; type: string }[]>
}

/** Installs the wraps; `root` is the checkout whose EventLog the gateway uses (this one or a baseline). */
export async function installGatewayTrace(root: string, store: StoreLike) {
  const offset = monoMs() - performance.now()
  let events = new Map<number, GatewayEventTrace>()
  let gc: GcPause[] = []
  const at = (seq: number) => {
    let e = events.get(seq)
    if (!e) {
      e = { seq }
      events.set(seq, e)
    }
    return e
  }

  const { EventLog } = (await import(pathToFileURL(path.join(root, 'src/core/event-log.ts')).href)) as {
    EventLog: { prototype: Appendable }
  }
  const append = EventLog.prototype.append
  EventLog.prototype.append = function (this: Appendable, ownerId, event) {
    // (the schedstat read first: its ~20 µs count as the wake-up's, not the queue's)
    const wait = event.type === 'output' ? runQueueWaitMs() : Number.NaN
    const t = monoMs()
    const stored = append.call(this, ownerId, event)
    if (event.type === 'output')
      stored.then(
        (ev) => {
          // coalesced chunks resolve with one event: keep the first chunk's times
          const e = at(ev.seq)
          if (e.append === undefined) {
            e.append = t
            e.waitAtAppend = wait
          }
        },
        () => {},
      )
    return stored
  }

  const timed = <A extends unknown[], R>(call: (...a: A) => Promise<R>, seqs: (r: R) => { seq: number }[]) =>
    async function (this: unknown, ...args: A): Promise<R> {
      const start = monoMs()
      const result = call.apply(this, args)
      const end = monoMs()
      const stored = await result
      const list = seqs(stored)
      for (const ev of list) {
        const e = at(ev.seq)
        e.commitStart = start
        e.commitEnd = end
        e.batch = list.length
      }
      return stored
    }
  store.appendEvent = timed(store.appendEvent.bind(store), (ev) => [ev])
  store.appendEvents = timed(store.appendEvents.bind(store), (evs) => evs)

  // responses waiting for their socket write: the next write of a server socket flushes them
  let unflushed: GatewayEventTrace[] = []
  for (const method of ['_write', '_writev'] as const) {
    const original = Socket.prototype[method] as (...a: unknown[]) => void
    Socket.prototype[method] = function (this: Socket & { server?: unknown }, ...args: unknown[]) {
      if (this.server && unflushed.length > 0) {
        const t = monoMs()
        for (const e of unflushed) e.flush = t
        unflushed = []
      }
      return original.apply(this, args)
    } as never
  }

  const write = ServerResponse.prototype.write
  ServerResponse.prototype.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    // an SSE frame of a stored event begins `id: <seq>\n`
    if (chunk instanceof Uint8Array && chunk[0] === 0x69 && chunk[1] === 0x64 && chunk[2] === 0x3a) {
      const end = chunk.indexOf(0x0a)
      const seq = Number(Buffer.from(chunk.buffer, chunk.byteOffset + 4, end - 4).toString('latin1'))
      if (Number.isInteger(seq) && at(seq).write === undefined) {
        at(seq).write = monoMs()
        unflushed.push(at(seq))
      }
    }
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest)
  } as typeof write

  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries())
      gc.push({
        start: entry.startTime + offset,
        ms: entry.duration,
        kind: (entry as { detail?: { kind?: number } }).detail?.kind ?? 0,
      })
  })
  observer.observe({ entryTypes: ['gc'] })

  return {
    /** Forgets what was recorded (a new run starts). */
    reset() {
      events = new Map()
      gc = []
      unflushed = []
    },
    take(): GatewayTrace {
      const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')
      return {
        events: [...events.values()].sort((a, b) => a.seq - b.seq),
        gc,
        newSpaceKb: (young?.space_size ?? Number.NaN) / 1024,
      }
    },
  }
}
