/**
 * Where a relayed event's latency goes (bench/event-relay.ts --trace): joins, by seq, the client's receive time of
 * each `output` event with the gateway's step times (bench/relay-trace-gateway.ts) and the agent's write time (the
 * `m` of the event's last line), and attributes the slowest events to a step, a GC pause or a wait for a core.
 */

import type { GatewayTrace, GcPause } from './relay-trace-gateway.js'
import { markdownTable, percentile } from './stats.js'

/** One event (via server) or one stdout chunk (direct) as the client saw it. */
export interface ClientEvent {
  /** via server: the SSE id; direct: the chunk's index. */
  seq: number
  /** The agent's write time: `m` of the last line completed by this event. */
  sent: number
  /** The client's receive time (monotonic ms). */
  recv: number
  /** The client thread's run-queue wait since it started, ms, read at `recv`. */
  waitAtRecv: number
}

export interface TracedRun {
  client: ClientEvent[]
  /** The client's GC pauses during the run (monotonic start). */
  clientGc: GcPause[]
  /** via server only. */
  gateway?: GatewayTrace
}

const steps = [
  ['pipe', 'agent write -> gateway append (wake-up, read, decode)'],
  ['queue', 'append -> commit starts'],
  ['store', 'commit (SQLite)'],
  ['publish', 'commit end -> res.write of the frame'],
  ['flush', 'res.write -> the socket write (the next tick)'],
  ['deliver', 'socket write -> client has the frame (loopback, wake-up, HTTP + SSE parse)'],
] as const
type Step = (typeof steps)[number][0]

interface Attributed {
  total: number
  step: Record<Step, number>
  /** Run-queue wait of the gateway's main thread between the previous event's append and this one's. */
  gatewayWait: number
  /** Run-queue wait of the client thread between the previous event's receive and this one's. */
  clientWait: number
  /** GC pause time in the gateway / client overlapping [sent, recv]. */
  gatewayGc: number
  clientGc: number
}

const overlap = (gc: GcPause[], from: number, to: number) =>
  gc.reduce((ms, p) => ms + Math.max(0, Math.min(to, p.start + p.ms) - Math.max(from, p.start)), 0)

function attribute(run: TracedRun): Attributed[] {
  const bySeq = new Map((run.gateway?.events ?? []).map((e) => [e.seq, e]))
  const out: Attributed[] = []
  let prev: { recv: number; waitAtRecv: number; waitAtAppend?: number } | null = null
  for (const c of run.client) {
    const g = bySeq.get(c.seq)
    const d = (a: number | undefined, b: number | undefined) =>
      a === undefined || b === undefined ? Number.NaN : a - b
    out.push({
      total: c.recv - c.sent,
      step: {
        pipe: d(g?.append, c.sent),
        queue: d(g?.commitStart, g?.append),
        store: d(g?.commitEnd, g?.commitStart),
        publish: d(g?.write, g?.commitEnd),
        flush: d(g?.flush, g?.write),
        deliver: d(c.recv, g?.flush),
      },
      gatewayWait: d(g?.waitAtAppend, prev?.waitAtAppend),
      clientWait: prev ? c.waitAtRecv - prev.waitAtRecv : Number.NaN,
      gatewayGc: overlap(run.gateway?.gc ?? [], c.sent, c.recv),
      clientGc: overlap(run.clientGc, c.sent, c.recv),
    })
    prev = {
      recv: c.recv,
      waitAtRecv: c.waitAtRecv,
      ...(g?.waitAtAppend !== undefined ? { waitAtAppend: g.waitAtAppend } : {}),
    }
  }
  return out
}

const gcKinds: Record<number, string> = {
  1: 'scavenge',
  2: 'mark-compact',
  4: 'incremental marking',
  8: 'weak callbacks',
}
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-')
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN)
const finite = (xs: number[]) => xs.filter(Number.isFinite)

/** The largest step of an event, or what else explains it (GC, waiting for a core). */
function blame(a: Attributed): string {
  const [step, ms] = (Object.entries(a.step) as [Step, number][])
    .filter(([, v]) => Number.isFinite(v))
    .reduce((best, cur) => (cur[1] > best[1] ? cur : best), ['pipe', Number.NEGATIVE_INFINITY] as [
      Step,
      number,
    ])
  const why: string[] = []
  if (a.gatewayGc > 0.2) why.push(`gateway GC ${f2(a.gatewayGc)}`)
  if (a.clientGc > 0.2) why.push(`client GC ${f2(a.clientGc)}`)
  if (a.gatewayWait > 0.2) why.push(`gateway waited for a core ${f2(a.gatewayWait)}`)
  if (a.clientWait > 0.2) why.push(`client waited for a core ${f2(a.clientWait)}`)
  return `${Number.isFinite(ms) ? `${step} ${f2(ms)}` : 'direct'}${why.length ? `; ${why.join(', ')}` : ''}`
}

/**
 * Prints, per mode, the distribution of each step over every event of every rep, and the slowest 1% of events
 * (those that make the p99) with their steps, overlapping GC pauses and run-queue waits.
 */
export function reportAttribution(workload: string, runs: Record<string, TracedRun[]>): void {
  for (const [mode, list] of Object.entries(runs)) {
    if (list.length === 0) continue
    const all = list.flatMap(attribute)
    const slow = [...all].sort((a, b) => b.total - a.total).slice(0, Math.max(1, Math.ceil(all.length / 100)))
    const cols = ['total', ...steps.map(([s]) => s), 'gateway wait', 'client wait', 'gateway GC', 'client GC']
    const pick = (a: Attributed): number[] => [
      a.total,
      ...steps.map(([s]) => a.step[s]),
      a.gatewayWait,
      a.clientWait,
      a.gatewayGc,
      a.clientGc,
    ]
    const rows = [['ms', ...cols]]
    for (const p of [50, 90, 99])
      rows.push([`p${p}`, ...cols.map((_, i) => f2(percentile(finite(all.map((a) => pick(a)[i]!)), p)))])
    rows.push(['max', ...cols.map((_, i) => f2(Math.max(...finite(all.map((a) => pick(a)[i]!)))))])
    rows.push([
      `mean of slowest ${slow.length}`,
      ...cols.map((_, i) => f2(mean(finite(slow.map((a) => pick(a)[i]!))))),
    ])
    console.log(`\n### ${workload}, ${mode}: ${all.length} events of ${list.length} runs\n`)
    console.log(
      markdownTable(
        rows,
        rows[0]!.map((_, i) => i > 0),
      ),
    )
    if (mode !== 'direct') console.log(`\nsteps: ${steps.map(([s, what]) => `${s} = ${what}`).join('; ')}`)
    const counts = new Map<string, number>()
    for (const a of slow) {
      const key = blame(a).replace(/ [\d.]+/g, '')
      counts.set(key, (counts.get(key) ?? 0) + 1)
    }
    console.log(`slowest ${slow.length} (>= ${f2(slow.at(-1)!.total)} ms), largest part and what overlapped:`)
    for (const a of slow.slice(0, 12)) console.log(`  ${f2(a.total)} ms: ${blame(a)}`)
    console.log(`  by kind: ${[...counts].map(([k, n]) => `${n}x ${k}`).join('; ')}`)
    const gcs = (pick: (r: TracedRun) => GcPause[]) => {
      const pauses = list.flatMap(pick)
      const kinds = [1, 2, 4, 8].map((k) => {
        const of = pauses.filter((p) => p.kind === k)
        return of.length ? `${of.length}x ${gcKinds[k]} (max ${f2(Math.max(...of.map((p) => p.ms)))} ms)` : ''
      })
      return kinds.filter(Boolean).join(', ') || 'none'
    }
    const young = list.map((r) => r.gateway?.newSpaceKb).filter((kb): kb is number => kb !== undefined)
    console.log(
      `GC pauses in ${list.length} runs: client ${gcs((r) => r.clientGc)}` +
        (mode === 'direct'
          ? ''
          : `; gateway ${gcs((r) => r.gateway?.gc ?? [])}, young generation ${young.map((kb) => Math.round(kb)).join('/')} KB at the runs' ends`),
    )
  }
}
