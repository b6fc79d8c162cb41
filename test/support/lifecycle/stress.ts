import type { StoredEvent } from '../../../src/protocol/events.js'
import type { Approval, Session, Turn } from '../../../src/protocol/sessions.js'
import { startMockLlm } from '../../mock-llm/index.js'
import { Random } from '../fuzz/random.js'
import { startGateway } from '../gateway.js'
import { processesUnder, spawnedFrom, waitUntilGone } from '../processes.js'
import { type Answer, call, Hang, sseEvents } from './http.js'
import { installStressSteps, promptOf, type TurnKind } from './mock-steps.js'

export interface StressOptions {
  seed: number
  steps: number
  /** How many live sessions the stress keeps at most (forks count; archived ones are replaced). */
  sessions: number
  /** How long a slow model answer waits. */
  slowMs?: number
  log?: (line: string) => void
}

export interface StressReport {
  seed: number
  steps: number
  actions: Record<string, number>
  statuses: Record<string, number>
  turns: number
  violations: string[]
}

type Action = 'create' | 'turn' | 'interrupt' | 'approve' | 'fork' | 'archive' | 'events' | 'get'

const weights: [Action, number][] = [
  ['create', 2],
  ['turn', 8],
  ['interrupt', 3],
  ['approve', 4],
  ['fork', 1],
  ['archive', 0.5],
  ['events', 3],
  ['get', 3],
]

/** The statuses each action may answer with; anything else (a 5xx above all) is a violation. */
const expected: Record<Action, number[]> = {
  create: [201],
  turn: [200, 202, 409, 429],
  interrupt: [200, 409],
  approve: [200, 404, 409],
  fork: [201, 409],
  archive: [200],
  events: [200],
  get: [200],
}

/**
 * Random interleavings of the session lifecycle against one gateway (real server, real socket, real codex, the
 * mock model), with the invariants checked after each step and at the end. The same seed gives the same actions;
 * the agent's timing still varies, so a violation is reduced to a deterministic test before it is fixed.
 */
export async function runLifecycleStress(opts: StressOptions): Promise<StressReport> {
  const rng = new Random(opts.seed)
  const log = opts.log ?? (() => {})
  const report: StressReport = {
    seed: opts.seed,
    steps: opts.steps,
    actions: {},
    statuses: {},
    turns: 0,
    violations: [],
  }
  const violate = (what: string) => {
    report.violations.push(what)
    log(`VIOLATION ${what}`)
  }
  const mock = await startMockLlm()
  installStressSteps(mock, opts.slowMs ?? 3000)
  const gw = await startGateway(mock, {
    APPROVAL_TIMEOUT_SECONDS: '8',
    MAX_QUEUED_TURNS: '3',
    TIMEOUT_SECONDS: '60',
  })
  const sessions: { id: string; approvals: boolean; archived: boolean }[] = []
  const background: Promise<void>[] = []
  const url = gw.url
  const expect = (action: Action, what: string, answer: Answer) => {
    report.statuses[answer.status] = (report.statuses[answer.status] ?? 0) + 1
    if (!expected[action].includes(answer.status))
      violate(`${what}: status ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`)
  }
  const guarded = async (what: string, work: () => Promise<void>) => {
    try {
      await work()
    } catch (err) {
      violate(`${what}: ${err instanceof Hang ? 'HANG ' : ''}${(err as Error).message}`)
    }
  }

  const create = async (step: number) => {
    const approvals = rng.chance(0.5)
    const body = approvals ? { approvalPolicy: 'untrusted', sandbox: 'workspace-write' } : {}
    const a = await call<Session>(`${url}/v1/sessions`, { body })
    expect('create', `step ${step} create`, a)
    if (a.status === 201) sessions.push({ id: a.body.id, approvals, archived: false })
  }

  try {
    await create(0)
    for (let step = 1; step <= opts.steps; step++) {
      let action = pickAction(rng)
      // at most `sessions` live ones (archived ones are replaced: up to three times as many in all, or one per 25 steps)
      const full =
        sessions.filter((x) => !x.archived).length >= opts.sessions ||
        sessions.length >= Math.max(opts.sessions * 3, opts.steps / 25)
      if (action === 'create' && full) action = 'turn'
      if (action === 'fork' && full) action = 'get'
      // archived sessions are picked now and then only: most steps work on live ones
      const live = sessions.filter((x) => !x.archived)
      const s = rng.pick(live.length && rng.chance(0.9) ? live : sessions)
      report.actions[action] = (report.actions[action] ?? 0) + 1
      const what = `step ${step} ${action} ${s.id}`
      log(what)
      await guarded(what, async () => {
        switch (action) {
          case 'create':
            return create(step)
          case 'turn': {
            const kind = rng.pick<TurnKind>(['plain', 'plain', 'slow', 'command'])
            const wait = rng.chance(0.3)
            const onBusy = rng.pick([undefined, 'queue', 'reject', 'steer'] as const)
            const body = { input: promptOf(kind, step), ...(onBusy ? { onBusy } : {}) }
            const send = async () => {
              const a = await call<Turn>(
                `${url}/v1/sessions/${s.id}/turns${wait ? '?wait=true' : ''}`,
                { body },
                120_000,
              )
              expect('turn', `${what} ${kind}${wait ? ' wait' : ''}`, a)
              if (a.status === 409 && !s.archived && onBusy !== 'reject')
                violate(
                  `${what}: 409 on a live session with onBusy ${onBusy ?? 'default'}: ${JSON.stringify(a.body)}`,
                )
              if (wait && a.status === 200 && ['queued', 'running'].includes(a.body.status))
                violate(`${what}: ?wait=true answered with a turn still ${a.body.status}`)
            }
            // a waiting turn goes on in the background while the next steps run
            if (wait) background.push(guarded(what, send))
            else await send()
            return
          }
          case 'interrupt': {
            const a = await call<Turn>(`${url}/v1/sessions/${s.id}/interrupt`, { body: {} })
            expect('interrupt', what, a)
            if (a.status === 200 && ['queued', 'running'].includes(a.body.status))
              violate(`${what}: answered with a turn still ${a.body.status}`)
            return
          }
          case 'approve': {
            const list = await call<{ approvals: Approval[] }>(
              `${url}/v1/approvals?state=pending&sessionId=${s.id}`,
            )
            expect('get', `${what} list`, list)
            const pending = list.body.approvals?.[0]
            if (!pending) return
            const decision = rng.pick(['accept', 'decline'])
            return expect(
              'approve',
              what,
              await call(`${url}/v1/approvals/${pending.id}`, { body: { decision } }),
            )
          }
          case 'fork': {
            const a = await call<Session>(`${url}/v1/sessions/${s.id}/fork`, { body: {} })
            expect('fork', what, a)
            if (a.status === 201) sessions.push({ id: a.body.id, approvals: s.approvals, archived: false })
            return
          }
          case 'archive': {
            const a = await call<Session>(`${url}/v1/sessions/${s.id}/archive`, { body: {} })
            expect('archive', what, a)
            if (a.status === 200 && a.body.status !== 'archived')
              violate(`${what}: answered status ${a.body.status}`)
            s.archived = true
            return
          }
          case 'events': {
            const got = await call<Session>(`${url}/v1/sessions/${s.id}`)
            expect('get', what, got)
            const from = rng.int(got.body.lastSeq + 1)
            checkTail(
              await sseEvents(url, s.id, from, got.body.lastSeq),
              from,
              got.body.lastSeq,
              what,
              violate,
            )
            return
          }
          case 'get': {
            const got = await call<Session & { turns: Turn[] }>(`${url}/v1/sessions/${s.id}`)
            expect('get', what, got)
            if (s.archived && got.body.status !== 'archived')
              violate(`${what}: archived session is ${got.body.status}`)
            return
          }
        }
      })
    }
    await Promise.all(background)
    report.turns = await finalChecks(url, sessions, violate, (id, seq) =>
      gw.ctx.store.eventsAfter(id, seq, 20),
    )
    // archive every session: its agent process ends
    for (const s of sessions)
      await guarded(`final archive ${s.id}`, async () =>
        expect(
          'archive',
          `final archive ${s.id}`,
          await call(`${url}/v1/sessions/${s.id}/archive`, { body: {} }),
        ),
      )
  } finally {
    await gw.close()
    await mock.close()
  }
  // (tsx, when the bench runs under it, keeps its esbuild service: not the gateway's)
  const agents = () => spawnedFrom().filter((p) => !p.cmd.includes('esbuild --service'))
  const left = await waitUntilGone(() => [...agents(), ...processesUnder(gw.dir)])
  if (left.length)
    violate(`processes left after close: ${left.map((p) => `${p.pid} ${p.cmd.slice(0, 80)}`).join('; ')}`)
  return report
}

function pickAction(rng: Random): Action {
  const total = weights.reduce((n, [, w]) => n + w, 0)
  let at = rng.next() * total
  for (const [action, w] of weights) {
    if (at < w) return action
    at -= w
  }
  return 'get'
}

/** A replay from `from` gives exactly the events after it, up to `through`, contiguous, each once. */
function checkTail(
  events: StoredEvent[],
  from: number,
  through: number,
  what: string,
  violate: (what: string) => void,
): void {
  const seqs = events.map((e) => e.seq)
  const want = Array.from({ length: through - from }, (_, i) => from + 1 + i)
  const got = seqs.slice(0, want.length)
  if (JSON.stringify(got) !== JSON.stringify(want))
    violate(
      `${what}: replay after ${from} gave seqs ${summarize(seqs)}, expected ${from + 1}..${through}; it ended with ${events
        .slice(-3)
        .map(describe)
        .join(', ')}`,
    )
  for (let i = 1; i < seqs.length; i++)
    if (seqs[i] !== (seqs[i - 1] ?? 0) + 1) {
      violate(`${what}: seqs not contiguous after ${from}: ${summarize(seqs)}`)
      break
    }
}

/** An event in a few words: its seq, type and what tells it apart. */
export const describe = (e: StoredEvent) =>
  `${e.seq} ${e.type}${'status' in e ? `:${e.status}` : ''}${'turnId' in e && e.turnId ? ` ${e.turnId}` : ''}`

const summarize = (seqs: number[]) =>
  seqs.length > 12
    ? `${seqs.slice(0, 6).join(',')},...,${seqs.slice(-6).join(',')} (${seqs.length})`
    : seqs.join(',')

/** Every turn ends, each end is announced once, the session's state agrees, nothing stays pending. */
async function finalChecks(
  url: string,
  sessions: { id: string; archived: boolean }[],
  violate: (what: string) => void,
  storedAfter: (sessionId: string, seq: number) => Promise<StoredEvent[]>,
): Promise<number> {
  let turns = 0
  const deadline = Date.now() + 120_000
  for (const s of sessions) {
    let got = await call<Session & { turns: Turn[] }>(`${url}/v1/sessions/${s.id}`)
    // a turn may still be running (a slow answer, an approval waiting for its timeout): wait for its end
    while (got.body.turns.some((t) => ['queued', 'running'].includes(t.status)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200))
      got = await call(`${url}/v1/sessions/${s.id}`)
    }
    const session = got.body
    turns += session.turns.length
    const open = session.turns.filter((t) => ['queued', 'running'].includes(t.status))
    if (open.length)
      violate(`final ${s.id}: turns never ended: ${open.map((t) => `${t.id} ${t.status}`).join(', ')}`)
    const wantStatus = s.archived ? 'archived' : 'idle'
    // the state that follows a turn's end is announced with it; give it a moment to be stored
    let status = session.status
    for (let i = 0; i < 25 && status !== wantStatus; i++) {
      await new Promise((r) => setTimeout(r, 200))
      status = (await call<Session>(`${url}/v1/sessions/${s.id}`)).body.status
    }
    if (status !== wantStatus)
      violate(`final ${s.id}: status ${status}, expected ${wantStatus} (no turn runs)`)
    const lastSeq = (await call<Session>(`${url}/v1/sessions/${s.id}`)).body.lastSeq
    const events = await sseEvents(url, s.id, 0, lastSeq)
    checkTail(events, 0, lastSeq, `final ${s.id}`, violate)
    if ((events.at(-1)?.seq ?? 0) < lastSeq) {
      const missing = await storedAfter(s.id, events.at(-1)?.seq ?? 0)
      violate(`final ${s.id}: stored but not replayed: ${JSON.stringify(missing).slice(0, 1500)}`)
    }
    for (const t of session.turns) {
      const ends = events.filter(
        (e) => (e.type === 'turn.completed' || e.type === 'turn.failed') && e.turnId === t.id,
      )
      if (!open.includes(t) && ends.length !== 1)
        violate(`final ${s.id}: turn ${t.id} (${t.status}) has ${ends.length} end events`)
      const end = ends[0]
      if (end && t.status === 'failed' && end.type !== 'turn.failed')
        violate(`final ${s.id}: failed turn ${t.id} ended with ${end.type}`)
      if (end?.type === 'turn.completed' && (end.status ?? 'completed') !== t.status)
        violate(`final ${s.id}: turn ${t.id} is ${t.status}, its end event says ${end.status ?? 'completed'}`)
    }
    const pending = await call<{ approvals: Approval[] }>(
      `${url}/v1/approvals?state=pending&sessionId=${s.id}`,
    )
    if (pending.body.approvals.length)
      violate(
        `final ${s.id}: approvals still pending: ${pending.body.approvals.map((a) => `${a.id} of ${a.turnId}`).join(', ')}`,
      )
  }
  return turns
}
