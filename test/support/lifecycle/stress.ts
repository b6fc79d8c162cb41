import { readFileSync } from 'node:fs'
import type { StoredEvent } from '../../../src/protocol/events.js'
import type { Approval, Session, Turn } from '../../../src/protocol/sessions.js'
import { startMockLlm } from '../../mock-llm/index.js'
import { Random } from '../fuzz/random.js'
import { type ProcInfo, processesUnder, spawnedFrom, waitUntilGone } from '../processes.js'
import { parsePrometheus, sample } from '../prometheus.js'
import { readSseUntil } from '../sse-client.js'
import { type Answer, call, Follower, Hang, sseEvents } from './http.js'
import { installStressSteps, promptOf, type TurnKind } from './mock-steps.js'
import { type StressStore, type StressTarget, startTarget } from './targets.js'

export interface StressOptions {
  seed: number
  steps: number
  /** How many live sessions the stress keeps at most (forks count; archived ones are replaced). */
  sessions: number
  /** How long a slow model answer waits. */
  slowMs?: number
  /**
   * APPROVAL_TIMEOUT_SECONDS of the gateways (8 by default): an approval nobody answered is declined then. The
   * steps' turns queued behind such approvals wait it out once the steps stopped answering them.
   */
  approvalTimeoutSeconds?: number
  /** SQLite (one in-process gateway, the default) or PostgreSQL (gateway processes sharing one database). */
  store?: StressStore
  /** How many gateway processes share the PostgreSQL store (1 by default); each request goes to one at random. */
  nodes?: number
  /**
   * On several nodes: the step at which one node, picked at random, is SIGKILLed. The others must take its sessions
   * over (nothing stored lost, the next turn resumes the thread); the steps go on on the nodes left.
   */
  killAt?: number
  /** How many of the nodes take requests only (role api), forwarding every session call to a runner. */
  apiNodes?: number
  log?: (line: string) => void
  /**
   * Given what closes the stress's servers (the gateway nodes and their agents, the mock model) once they run, so
   * that a script stopped by a signal closes them before it exits (bench/exit-reasons.ts `closeFirst`); returns how
   * to take it back.
   */
  closeFirst?: (close: () => Promise<unknown>) => () => void
}

export interface StressReport {
  seed: number
  steps: number
  actions: Record<string, number>
  statuses: Record<string, number>
  turns: number
  /** On several nodes, how much the cross-node checks saw: events live followers got, turns streamed, reads compared. */
  crossNode: { followedEvents: number; streamedTurns: number; agreedReads: number }
  violations: string[]
  /** The nodes' last log lines when something was violated on gateway processes (else empty). */
  logs: string
}

interface StressSession {
  id: string
  approvals: boolean
  archived: boolean
}

type Action =
  | 'create'
  | 'turn'
  | 'interrupt'
  | 'approve'
  | 'fork'
  | 'archive'
  | 'events'
  | 'get'
  | 'follow'
  | 'burst'

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

/**
 * On several nodes, live followers of a session on a node that does not own it too, and bursts: a few of a
 * session's actions at once, each through a node of its own.
 */
const clusterWeights: [Action, number][] = [...weights, ['follow', 1], ['burst', 2]]

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
  follow: [200],
  burst: [],
}

/**
 * Random interleavings of the session lifecycle against one gateway, or several gateway processes sharing one
 * PostgreSQL (real servers, real sockets, real codex, the mock model), with the invariants checked after each step
 * and at the end. On several nodes every request goes to a node picked at random (so most are forwarded to the
 * session's owner or relayed from it), live SSE followers on a node that does not own the session must see exactly
 * what the store replays, and what a step answered must be what every node reads once it returned. The same seed
 * gives the same actions; the agent's timing still varies, so a violation is reduced to a deterministic test before
 * it is fixed.
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
    crossNode: { followedEvents: 0, streamedTurns: 0, agreedReads: 0 },
    violations: [],
    logs: '',
  }
  const violate = (what: string) => {
    report.violations.push(what)
    log(`VIOLATION ${what}`)
  }
  const mock = await startMockLlm()
  installStressSteps(mock, opts.slowMs ?? 3000)
  let target: StressTarget
  try {
    target = await startTarget(mock, opts.store ?? 'sqlite', opts.nodes ?? 1, opts.apiNodes, {
      APPROVAL_TIMEOUT_SECONDS: String(opts.approvalTimeoutSeconds ?? 8),
    })
  } catch (err) {
    await mock.close()
    throw err
  }
  const sessions: StressSession[] = []
  const background: Promise<void>[] = []
  const followers: Follower[] = []
  // one closing, whoever asks first: the end of the steps, or a signal (closeFirst)
  let closing: Promise<string[]> | undefined
  const closeAll = () => {
    closing ??= (async () => {
      log('closing')
      for (const f of followers) f.close()
      const problems = await target.close()
      log('closing the mock model')
      await mock.close()
      return problems
    })()
    return closing
  }
  // (tsx, when the bench runs under it, keeps its esbuild service: not the gateway's); this stress's only, so that
  // stresses run at once in one process (the seeds of test/e2e/session-lifecycle-stress.test.ts) each check theirs
  const agents = () =>
    spawnedFrom().filter((p) => !p.cmd.includes('esbuild --service') && startedFor(p, target.roots))
  const left = () => [...agents(), ...processesUnder(target.dir)]
  // on a signal, closed and its processes ended: none may write into the temp dir the script's exit removes
  const release = opts.closeFirst?.(async () => {
    const failed = await closeAll().then(
      () => undefined,
      (err: unknown) => err,
    )
    // even when a close failed: what it did stop may still be ending (the gateway's close does not wait for them)
    const stayed = await waitUntilGone(left)
    if (stayed.length)
      throw new Error(
        `processes left after close: ${stayed.map((p) => `${p.pid} ${p.cmd.slice(0, 80)}`).join('; ')}`,
      )
    if (failed) throw failed
  })

  const cluster = target.urls.length > 1
  /** The nodes alive (a killed one leaves it); requests in flight to a killed node may fail. */
  let urls = [...target.urls]
  const killed = new Set<string>()
  /** Takeovers done: a request begun before one may answer 503 (its owner died under it). */
  let takeovers = 0
  let killing = false
  // one node: no draw, so a seed gives the same steps as before nodes existed
  const nodeBy = (r: Random) => (cluster ? r.pick(urls) : urls[0]!)
  const pickNode = () => nodeBy(rng)
  /** On several nodes: `check` holds on every node (a read there agrees with what the step answered). */
  const agree = async (what: string, check: (url: string) => Promise<string | undefined>) => {
    if (!cluster) return
    for (const node of urls) {
      const wrong = await check(node)
      report.crossNode.agreedReads++
      if (wrong) violate(`${what}: node ${node} disagrees: ${wrong}`)
    }
  }
  const turnOn = async (node: string, sessionId: string, turn: Turn) => {
    const got = await call<Session & { turns: Turn[] }>(`${node}/v1/sessions/${sessionId}`)
    const t = got.body.turns?.find((x) => x.id === turn.id)
    if (!t) return `status ${got.status}, no turn ${turn.id}`
    if (!['queued', 'running'].includes(turn.status) && t.status !== turn.status)
      return `turn ${turn.id} is ${t.status}, the step answered ${turn.status}`
    return undefined
  }
  const expect = (action: Action, what: string, answer: Answer, begunAt = takeovers) => {
    report.statuses[answer.status] = (report.statuses[answer.status] ?? 0) + 1
    const code = (answer.body as { error?: { code?: string } } | null)?.error?.code
    const ownerDied =
      answer.status === 503 &&
      (killing || begunAt < takeovers) &&
      (code === 'worker_unavailable' || code === 'session_taken_over')
    if (!expected[action].includes(answer.status) && !ownerDied)
      violate(`${what}: status ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`)
  }
  const guarded = async (what: string, work: () => Promise<void>, node?: string) => {
    try {
      await work()
    } catch (err) {
      // a request to a node killed meanwhile: its connection is gone
      if (node && killed.has(node) && !(err instanceof Hang))
        return log(`${what}: lost with its node (${(err as Error).message})`)
      // fetch's own failures say why in their cause (a reset, a refused connection)
      const cause = (err as { cause?: { code?: string; message?: string } }).cause
      const why = cause ? ` (${cause.code ?? ''} ${cause.message ?? ''})` : ''
      violate(`${what}: ${err instanceof Hang ? 'HANG ' : ''}${(err as Error).message}${why}`)
    }
  }

  /**
   * A turn sent with Accept: text/event-stream: the stream (relayed from the owner when `node` is not it) ends with
   * the turn's end, contiguous, and is what the store replays on another node.
   */
  const streamTurn = async (
    node: string,
    s: { id: string; archived: boolean },
    body: unknown,
    what: string,
  ) => {
    const signal = AbortSignal.timeout(120_000)
    const begunAt = takeovers
    try {
      const res = await fetch(`${node}/v1/sessions/${s.id}/turns`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify(body),
        signal,
      })
      if (!res.headers.get('content-type')?.startsWith('text/event-stream')) {
        const text = await res.text()
        let parsed: unknown = null
        try {
          parsed = JSON.parse(text)
        } catch {}
        expect('turn', what, { status: res.status, body: parsed ?? text }, begunAt)
        const onBusy = (body as { onBusy?: string }).onBusy
        if (res.status === 409 && !s.archived && onBusy !== 'reject')
          violate(`${what}: 409 on a live session with onBusy ${onBusy ?? 'default'}: ${text}`)
        return
      }
      expect('turn', what, { status: res.status, body: null })
      const turnId = res.headers.get('x-turn-id')
      report.crossNode.streamedTurns++
      const events = (await readSseUntil(res, () => false)).map((f) => JSON.parse(f.data) as StoredEvent)
      const end = events.at(-1)
      // a stream from a node killed meanwhile ends where the node died
      if (killed.has(node)) return
      if (!end || !isTurnEnd(end) || !('turnId' in end) || end.turnId !== turnId)
        return violate(
          `${what}: the stream of turn ${turnId} ended without its end: ${events.slice(-3).map(describe).join(', ')}`,
        )
      const from = (events[0]?.seq ?? 1) - 1
      checkTail(events, from, end.seq, what, violate)
      const replayed = await sseEvents(urls.find((u) => u !== node) ?? node, s.id, from, end.seq)
      if (JSON.stringify(events) !== JSON.stringify(replayed))
        violate(`${what}: the turn's stream differs from the replay: ${firstDifference(events, replayed)}`)
    } catch (err) {
      if (signal.aborted) throw new Hang(`${what}: the turn's stream did not end in 120 s`)
      throw err
    }
  }

  /**
   * SIGKILLs a node: the others take its sessions over (their owner a live node) with every stored event kept,
   * and the next turn of each, sent to any node left, resumes its thread and completes.
   */
  const killNode = async (step: number) => {
    const victim = rng.pick(urls)
    const survivor = urls.find((u) => u !== victim)!
    const before = new Map<string, StoredEvent[]>()
    const owners = new Map<string, string | undefined>()
    for (const s of sessions) {
      const lastSeq = (await call<Session>(`${survivor}/v1/sessions/${s.id}`)).body.lastSeq
      before.set(s.id, await sseEvents(survivor, s.id, 0, lastSeq))
      owners.set(s.id, await target.ownerIdOf(s.id))
    }
    killing = true
    urls = urls.filter((u) => u !== victim)
    killed.add(victim)
    const victimId = await target.kill(victim)
    const orphans = sessions.filter((s) => owners.get(s.id) === victimId)
    log(`step ${step} kill ${victim} (${victimId}), owner of ${orphans.map((s) => s.id).join(', ')}`)
    const what = `step ${step} kill ${victim}`
    try {
      const deadline = Date.now() + 60_000
      for (const s of orphans) {
        // an archived session stays where it was (nothing runs there)
        const held = async () =>
          (await call<Session>(`${survivor}/v1/sessions/${s.id}`)).body.status === 'archived' ||
          (await target.ownerIdOf(s.id)) !== victimId
        while (!(await held()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
        if (!(await held())) violate(`${what}: session ${s.id} still owned by the dead node after 60 s`)
      }
      takeovers++
    } finally {
      killing = false
    }
    for (const s of sessions) {
      const kept = before.get(s.id) ?? []
      const lastSeq = (await call<Session>(`${survivor}/v1/sessions/${s.id}`)).body.lastSeq
      const now = await sseEvents(survivor, s.id, 0, lastSeq)
      if (JSON.stringify(now.slice(0, kept.length)) !== JSON.stringify(kept))
        violate(`${what}: ${s.id} lost stored events: ${firstDifference(now.slice(0, kept.length), kept)}`)
    }
    for (const s of orphans.filter((x) => !x.archived)) {
      const a = await call<Turn>(
        `${rng.pick(urls)}/v1/sessions/${s.id}/turns?wait=true`,
        { body: { input: promptOf('plain', step), onBusy: 'queue' } },
        120_000,
      )
      expect('turn', `${what} resume ${s.id}`, a)
      if (a.status !== 200 || a.body.status !== 'completed')
        violate(
          `${what}: the first turn of ${s.id} after the takeover: ${a.status} ${JSON.stringify(a.body)}`,
        )
    }
  }

  const create = async (step: number, r = rng) => {
    const approvals = r.chance(0.5)
    const body = approvals ? { approvalPolicy: 'untrusted', sandbox: 'workspace-write' } : {}
    const a = await call<Session>(`${nodeBy(r)}/v1/sessions`, { body })
    expect('create', `step ${step} create`, a)
    if (a.status !== 201) return
    sessions.push({ id: a.body.id, approvals, archived: false })
    await agree(`step ${step} create ${a.body.id}`, async (node) => {
      const got = await call(`${node}/v1/sessions/${a.body.id}`)
      return got.status === 200 ? undefined : `status ${got.status}`
    })
  }

  /** One step's action on session `s`, its draws from `r` (the stress's own, or a burst's fork of it). */
  const act = async (
    r: Random,
    action: Action,
    s: StressSession,
    step: number,
    what: string,
  ): Promise<void> => {
    switch (action) {
      case 'create':
        return create(step, r)
      case 'turn': {
        const kind = r.pick<TurnKind>(['plain', 'plain', 'slow', 'command'])
        const wait = r.chance(0.3)
        const onBusy = r.pick([undefined, 'queue', 'reject', 'steer'] as const)
        const body = { input: promptOf(kind, step), ...(onBusy ? { onBusy } : {}) }
        const node = nodeBy(r)
        // on several nodes, now and then a turn streamed until its end (relayed from the owner)
        if (cluster && !wait && r.chance(0.15)) {
          background.push(
            guarded(
              `${what} ${kind} stream`,
              () => streamTurn(node, s, body, `${what} ${kind} stream`),
              node,
            ),
          )
          return
        }
        const send = async () => {
          const begunAt = takeovers
          const a = await call<Turn>(
            `${node}/v1/sessions/${s.id}/turns${wait ? '?wait=true' : ''}`,
            { body },
            120_000,
          )
          expect('turn', `${what} ${kind}${wait ? ' wait' : ''}`, a, begunAt)
          if (a.status === 409 && !s.archived && onBusy !== 'reject')
            violate(
              `${what}: 409 on a live session with onBusy ${onBusy ?? 'default'}: ${JSON.stringify(a.body)}`,
            )
          if (wait && a.status === 200 && ['queued', 'running'].includes(a.body.status))
            violate(`${what}: ?wait=true answered with a turn still ${a.body.status}`)
          if (a.status === 200 || a.status === 202)
            await agree(`${what} ${kind}${wait ? ' wait' : ''}`, (n) => turnOn(n, s.id, a.body))
        }
        // a waiting turn goes on in the background while the next steps run
        if (wait) background.push(guarded(what, send, node))
        else await send()
        return
      }
      case 'interrupt': {
        const a = await call<Turn>(`${nodeBy(r)}/v1/sessions/${s.id}/interrupt`, { body: {} })
        expect('interrupt', what, a)
        if (a.status === 200 && ['queued', 'running'].includes(a.body.status))
          violate(`${what}: answered with a turn still ${a.body.status}`)
        if (a.status === 200) await agree(what, (n) => turnOn(n, s.id, a.body))
        return
      }
      case 'approve': {
        const list = await call<{ approvals: Approval[] }>(
          `${nodeBy(r)}/v1/approvals?state=pending&sessionId=${s.id}`,
        )
        expect('get', `${what} list`, list)
        const pending = list.body.approvals?.[0]
        if (!pending) return
        const decision = r.pick(['accept', 'decline'])
        // on several nodes, now and then two answers at once on two nodes: the first one wins, once
        if (cluster && r.chance(0.3)) {
          const other = decision === 'accept' ? 'decline' : 'accept'
          const [n1, n2] = [nodeBy(r), nodeBy(r)]
          const answers = await Promise.all([
            call<Approval>(`${n1}/v1/approvals/${pending.id}`, { body: { decision } }),
            call<Approval>(`${n2}/v1/approvals/${pending.id}`, { body: { decision: other } }),
          ])
          for (const a of answers) expect('approve', `${what} twice`, a)
          const won = answers.filter((a) => a.status === 200)
          if (won.length > 1) violate(`${what}: both answers of ${pending.id} won: ${JSON.stringify(won)}`)
          const stored = await call<Approval>(`${nodeBy(r)}/v1/approvals/${pending.id}`)
          if (won[0] && stored.body.decision !== won[0].body.decision)
            violate(`${what}: ${pending.id} won with ${won[0].body.decision}, stored ${stored.body.decision}`)
          return
        }
        const a = await call<Approval>(`${nodeBy(r)}/v1/approvals/${pending.id}`, { body: { decision } })
        expect('approve', what, a)
        if (a.status === 200)
          await agree(what, async (n) => {
            const got = await call<Approval>(`${n}/v1/approvals/${pending.id}`)
            return got.body.state === 'resolved' ? undefined : `approval ${pending.id} is ${got.body.state}`
          })
        return
      }
      case 'fork': {
        const a = await call<Session>(`${nodeBy(r)}/v1/sessions/${s.id}/fork`, { body: {} })
        expect('fork', what, a)
        if (a.status !== 201) return
        sessions.push({ id: a.body.id, approvals: s.approvals, archived: false })
        await agree(what, async (n) => {
          const got = await call(`${n}/v1/sessions/${a.body.id}`)
          return got.status === 200 ? undefined : `fork ${a.body.id}: status ${got.status}`
        })
        return
      }
      case 'archive': {
        // from now on a turn refused (409) is expected, also one sent before that answers meanwhile
        s.archived = true
        const a = await call<Session>(`${nodeBy(r)}/v1/sessions/${s.id}/archive`, { body: {} })
        expect('archive', what, a)
        if (a.status === 200 && a.body.status !== 'archived')
          violate(`${what}: answered status ${a.body.status}`)
        if (a.status === 200)
          await agree(what, async (n) => {
            const got = await call<Session>(`${n}/v1/sessions/${s.id}`)
            return got.body.status === 'archived' ? undefined : `status ${got.body.status}`
          })
        return
      }
      case 'events': {
        const got = await call<Session>(`${nodeBy(r)}/v1/sessions/${s.id}`)
        expect('get', what, got)
        const from = r.int(got.body.lastSeq + 1)
        checkTail(
          await sseEvents(nodeBy(r), s.id, from, got.body.lastSeq),
          from,
          got.body.lastSeq,
          what,
          violate,
        )
        return
      }
      case 'follow': {
        // from a random point of the past, on a node that does not own the session (when one owns it)
        const got = await call<Session>(`${nodeBy(r)}/v1/sessions/${s.id}`)
        expect('follow', what, got)
        const from = r.int(got.body.lastSeq + 1)
        const owner = await target.ownerUrl(s.id)
        const others = urls.filter((u) => u !== owner)
        if (followers.length < 3 * opts.sessions)
          followers.push(new Follower(r.pick(others.length ? others : urls), s.id, from))
        return
      }
      case 'get': {
        const got = await call<Session & { turns: Turn[] }>(`${nodeBy(r)}/v1/sessions/${s.id}`)
        expect('get', what, got)
        if (s.archived && got.body.status !== 'archived')
          violate(`${what}: archived session is ${got.body.status}`)
        return
      }
    }
  }

  try {
    await create(0)
    for (let step = 1; step <= opts.steps; step++) {
      if (step === opts.killAt && urls.length > 1) {
        report.actions.kill = (report.actions.kill ?? 0) + 1
        await guarded(`step ${step} kill`, () => killNode(step))
        continue
      }
      let action = pickAction(rng, cluster ? clusterWeights : weights)
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
      if (action !== 'burst') {
        await guarded(what, () => act(rng, action, s, step, what))
        continue
      }
      const parts: Action[] = [
        rng.pick<Action>(['turn', 'interrupt', 'approve']),
        rng.pick<Action>(['turn', 'interrupt', 'approve', 'fork']),
      ]
      if (rng.chance(0.3)) parts.push(rng.chance(0.2) ? 'archive' : rng.pick<Action>(['turn', 'interrupt']))
      // a turn refused beside an archive is expected: the session counts as archived from the burst on
      if (parts.includes('archive')) s.archived = true
      const forks = parts.map(() => new Random(Math.floor(rng.next() * 2 ** 32)))
      log(`${what}: ${parts.join(' + ')}`)
      await Promise.all(
        parts.map((part, k) =>
          guarded(`${what} ${part}`, () => act(forks[k]!, part, s, step, `${what} ${part}`)),
        ),
      )
    }
    log('waiting for the background steps')
    await Promise.all(background)
    log('final checks')
    report.turns = await finalChecks(urls, pickNode, sessions, violate, target.storedAfter)
    // archive every session: its agent process ends
    log('final archives')
    for (const s of sessions)
      await guarded(`final archive ${s.id}`, async () =>
        expect(
          'archive',
          `final archive ${s.id}`,
          await call(`${pickNode()}/v1/sessions/${s.id}/archive`, { body: {} }),
        ),
      )
    log('followers')
    // every live follower saw exactly what the store replays (from another node), in order, nothing more
    for (const f of followers)
      await guarded(`follower of ${f.sessionId} on ${f.baseUrl} after ${f.after}`, async () => {
        const what = `follower of ${f.sessionId} on ${f.baseUrl} after ${f.after}`
        const lastSeq = (await call<Session>(`${pickNode()}/v1/sessions/${f.sessionId}`)).body.lastSeq
        // on a node killed meanwhile, what it got before it died: the start of the replay
        const through = killed.has(f.baseUrl) ? (f.events.at(-1)?.seq ?? f.after) : lastSeq
        if (!killed.has(f.baseUrl)) await f.until(lastSeq, 30_000)
        report.crossNode.followedEvents += f.events.length
        const replayed = await sseEvents(
          urls.find((u) => u !== f.baseUrl) ?? urls[0]!,
          f.sessionId,
          f.after,
          through,
        )
        if (JSON.stringify(f.events) !== JSON.stringify(replayed))
          violate(
            `${what}: live ${summarize(f.events.map((e) => e.seq))} differs from the replay ${summarize(replayed.map((e) => e.seq))}; first difference: ${firstDifference(f.events, replayed)}`,
          )
      })
    log('metrics')
    // what the gateway had to mend on its own: each is a bug upstream (a store write that failed, a lost waiter)
    for (const url of urls.filter((u) => !killed.has(u)))
      await guarded(`metrics of ${url}`, async () => {
        const res = await fetch(`${url}/metrics`)
        const families = parsePrometheus(await res.text())
        const missing = mendedByGateway.filter((name) => !families.has(name))
        if (missing.length) violate(`${url}/metrics lacks ${missing.join(', ')}`)
        const mended = mendedByGateway.map((name) => [name, sample(families, name)] as const)
        const seen = mended.filter(([, n]) => n > 0)
        if (seen.length)
          violate(
            `${url} mended on its own (see its log): ${seen.map(([name, n]) => `${name} ${n}`).join(', ')}`,
          )
      })
  } finally {
    for (const problem of await closeAll()) violate(problem)
    release?.()
  }
  if (report.violations.length && cluster) report.logs = target.logTail(60)
  log('waiting for the processes to end')
  const stayed = await waitUntilGone(left)
  if (stayed.length)
    violate(`processes left after close: ${stayed.map((p) => `${p.pid} ${p.cmd.slice(0, 80)}`).join('; ')}`)
  return report
}

/** The counters of what a node mended itself: approvals answered after the store failed, or swept. */
const mendedByGateway = [
  'agent_gateway_approval_resolve_failures_total',
  'agent_gateway_approval_answers_found_total',
  'agent_gateway_approvals_swept_total',
  'agent_gateway_session_states_recomputed_total',
]

function pickAction(rng: Random, from: [Action, number][]): Action {
  const total = from.reduce((n, [, w]) => n + w, 0)
  let at = rng.next() * total
  for (const [action, w] of from) {
    if (at < w) return action
    at -= w
  }
  return 'get'
}

/**
 * Whether `p` was started for a target with these directories: it runs below one, or names one in its command line
 * or environment (an agent gets the gateway's HOME, DATA_DIR and CODEX_HOME). A process whose environment cannot be
 * read any more (it ended meanwhile) counts as the target's: a check waits for it rather than miss it.
 */
function startedFor(p: ProcInfo, roots: string[]): boolean {
  const within = (text: string | null) => text !== null && roots.some((root) => text.includes(root))
  if (within(p.cwd) || within(p.cmd)) return true
  try {
    return within(readFileSync(`/proc/${p.pid}/environ`, 'latin1'))
  } catch {
    return true
  }
}

const isTurnEnd = (e: StoredEvent) => e.type === 'turn.completed' || e.type === 'turn.failed'

/** Where two event lists first differ, in a few words. */
function firstDifference(a: StoredEvent[], b: StoredEvent[]): string {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const [x, y] = [a[i], b[i]]
    if (JSON.stringify(x) !== JSON.stringify(y))
      return `at ${i}: ${x ? JSON.stringify(x).slice(0, 300) : 'nothing'} vs ${y ? JSON.stringify(y).slice(0, 300) : 'nothing'}`
  }
  return 'none'
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
  urls: string[],
  pickNode: () => string,
  sessions: { id: string; archived: boolean }[],
  violate: (what: string) => void,
  storedAfter: (sessionId: string, seq: number) => Promise<StoredEvent[]>,
): Promise<number> {
  let turns = 0
  const deadline = Date.now() + 120_000
  for (const s of sessions) {
    const url = pickNode()
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
    // the state that follows a turn's end is announced with it; give it a moment to be stored (a moment of a
    // loaded machine: up to 30 s, over as soon as it is there)
    let status = session.status
    const stored = Date.now() + 30_000
    while (status !== wantStatus && Date.now() < stored) {
      await new Promise((r) => setTimeout(r, 200))
      status = (await call<Session>(`${url}/v1/sessions/${s.id}`)).body.status
    }
    if (status !== wantStatus)
      violate(`final ${s.id}: status ${status}, expected ${wantStatus} (no turn runs)`)
    const lastSeq = (await call<Session>(`${url}/v1/sessions/${s.id}`)).body.lastSeq
    const events = await sseEvents(url, s.id, 0, lastSeq)
    checkTail(events, 0, lastSeq, `final ${s.id}`, violate)
    // every node replays the same events
    for (const other of urls.filter((u) => u !== url)) {
      const there = await sseEvents(other, s.id, 0, lastSeq)
      if (JSON.stringify(there) !== JSON.stringify(events))
        violate(
          `final ${s.id}: the replay on ${other} differs from ${url}'s: ${firstDifference(there, events)}`,
        )
    }
    if ((events.at(-1)?.seq ?? 0) < lastSeq) {
      const missing = await storedAfter(s.id, events.at(-1)?.seq ?? 0)
      violate(`final ${s.id}: stored but not replayed: ${JSON.stringify(missing).slice(0, 1500)}`)
    }
    for (const t of session.turns) {
      const ends = events.filter((e) => isTurnEnd(e) && 'turnId' in e && e.turnId === t.id)
      if (!open.includes(t) && ends.length !== 1)
        violate(`final ${s.id}: turn ${t.id} (${t.status}) has ${ends.length} end events`)
      const end = ends[0]
      if (end && t.status === 'failed' && end.type !== 'turn.failed')
        violate(`final ${s.id}: failed turn ${t.id} ended with ${end.type}`)
      if (end?.type === 'turn.completed' && (end.status ?? 'completed') !== t.status)
        violate(`final ${s.id}: turn ${t.id} is ${t.status}, its end event says ${end.status ?? 'completed'}`)
    }
    // An approval never outlives its turn: the turn's end cancels what is still pending. One declined by its
    // timeout after its turn had ended waited for nobody (the session `waiting_for_approval` with no turn).
    const all = await call<{ approvals: Approval[] }>(`${url}/v1/approvals?sessionId=${s.id}`)
    for (const a of all.body.approvals ?? []) {
      const ended = session.turns.find((t) => t.id === a.turnId)?.finishedAt
      if (a.by === 'timeout' && ended && a.resolvedAt && a.resolvedAt > ended)
        violate(
          `final ${s.id}: approval ${a.id} of turn ${a.turnId} (ended ${ended}) declined by its timeout at ${a.resolvedAt}`,
        )
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
