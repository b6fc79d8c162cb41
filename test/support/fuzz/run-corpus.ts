import { buildRequest, type FuzzRequest, type Operation } from './corpus.js'
import { Random } from './random.js'

export interface FuzzFailure {
  request: FuzzRequest
  problem: string
}

export interface FuzzReport {
  sent: number
  byStatus: Record<number, number>
  /** Requests per operation (`METHOD path`), to prove every route was reached. */
  byOperation: Record<string, number>
  /** Time spent waiting for answers per operation (ms), to see where a run's time goes. */
  msByOperation: Record<string, number>
  failures: FuzzFailure[]
  elapsedMs: number
}

export interface FuzzOptions {
  baseUrl: string
  operations: Operation[]
  count: number
  seed: number
  concurrency: number
  /** A request without response headers after this long is a hang. */
  hangMs: number
  headers?: Record<string, string>
}

/**
 * Sends `count` generated requests, `concurrency` at a time, and reports every 5xx, hang and dropped
 * connection. Streamed answers are judged by their status and then closed; ids seen in JSON answers are
 * learned so that later requests reach real runs, sessions, approvals and threads.
 */
export async function runCorpus(opts: FuzzOptions): Promise<FuzzReport> {
  const rnd = new Random(opts.seed)
  const known = new Map<string, string[]>()
  const report: FuzzReport = {
    sent: 0,
    byStatus: {},
    byOperation: {},
    msByOperation: {},
    failures: [],
    elapsedMs: 0,
  }
  const started = Date.now()
  let next = 0
  const worker = async () => {
    while (next < opts.count) {
      next++
      const op = opts.operations[rnd.int(opts.operations.length)]!
      const request = buildRequest(op, rnd, known)
      const opName = `${op.method} ${op.path}`
      report.byOperation[opName] = (report.byOperation[opName] ?? 0) + 1
      const t0 = Date.now()
      await send(opts, request, report, known)
      report.msByOperation[opName] = (report.msByOperation[opName] ?? 0) + Date.now() - t0
    }
  }
  await Promise.all(Array.from({ length: opts.concurrency }, worker))
  report.elapsedMs = Date.now() - started
  return report
}

async function send(
  opts: FuzzOptions,
  request: FuzzRequest,
  report: FuzzReport,
  known: Map<string, string[]>,
) {
  report.sent++
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(new Error('hang')), opts.hangMs)
  try {
    const res = await fetch(opts.baseUrl + request.url, {
      method: request.method,
      headers: { ...opts.headers, ...request.headers },
      ...(request.body !== undefined ? { body: request.body } : {}),
      signal: controller.signal,
      redirect: 'manual',
    })
    report.byStatus[res.status] = (report.byStatus[res.status] ?? 0) + 1
    const type = res.headers.get('content-type') ?? ''
    if (type.includes('event-stream') || type.includes('ndjson')) {
      await res.body?.cancel()
    } else {
      const text = await res.text()
      if (res.status >= 500 && !lateTurn(request, res.status, text))
        report.failures.push({ request, problem: `${res.status}: ${text.slice(0, 300)}` })
      else if (res.ok) learn(text, known)
    }
    if (res.status >= 500 && (type.includes('event-stream') || type.includes('ndjson')))
      report.failures.push({ request, problem: `${res.status} (streamed)` })
  } catch (err) {
    const problem = controller.signal.aborted ? `no answer within ${opts.hangMs} ms` : String(err)
    report.failures.push({ request, problem })
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Seed 003's turn/start answers its original's 504 when the turn outlasts CODEX_REQUEST_TIMEOUT (turns queued on a
 * busy machine): a deliberate answer, as the 408 it replaced was, not a fault of the gateway.
 */
const lateTurn = (request: FuzzRequest, status: number, text: string) =>
  status === 504 &&
  request.url.split('?', 1)[0] === '/api/turn/start' &&
  text.includes('Turn completion timeout after')

/** Remembers ids from a JSON answer (at most a few per kind, the newest first). */
function learn(text: string, known: Map<string, string[]>) {
  for (const match of text.matchAll(
    /"(?:id|agentSessionId|threadId|approvalId|sessionId)":"([^"]{1,80})"/g,
  )) {
    const id = match[1]!
    const kind = /^(run|ses|apr)_/.exec(id)?.[1] ?? (/^[0-9a-f-]{36}$/.test(id) ? 'thread' : undefined)
    if (!kind) continue
    const pool = known.get(kind) ?? []
    if (!pool.includes(id)) pool.unshift(id)
    known.set(kind, pool.slice(0, 8))
  }
}
