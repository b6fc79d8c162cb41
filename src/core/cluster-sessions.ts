import type { AgentRegistry } from '../agents/registry.js'
import type { TurnInput, TurnOptions } from '../agents/session.js'
import type { Config } from '../config/load.js'
import { AppError } from '../protocol/errors.js'
import type { Session, Turn } from '../protocol/sessions.js'
import type { Store } from '../store/store.js'
import type { ActiveRuns } from './active-runs.js'
import type { EventLog } from './event-log.js'
import { heldEventWaitMs } from './fork-point.js'
import { newId } from './ids.js'
import { CallUnanswered, lacksMethod, type NodeCalls } from './node-calls.js'
import type { NodeMembership } from './node-membership.js'
import { type CreateSession, type OnBusy, SessionManager } from './session-manager.js'
import { heldByOlderNode, needsOf, turnMethodFor, turnMethods } from './turn-call.js'

/** How the sessions of a node take part in a cluster (PostgreSQL with node signals). */
export interface SessionCluster {
  membership: NodeMembership
  calls: NodeCalls
  /**
   * Recovers what dead nodes left (runs, sessions, approvals), as the periodic watch does: a pass that lists the
   * nodes after this call.
   */
  recoverLost(): Promise<void>
  /** The longest a call to another node may take (it ends sooner when that node dies). */
  callTimeoutMs: number
  /** The tenant whose sessions these are (null: untenanted); a node serving a forwarded call works in its scope. */
  tenant: string | null
}

/**
 * Sessions in a cluster: a session lives on one node that runs agents (its owner in the store), whose agent
 * process holds the thread. Whatever needs the agent (turns, interrupt, fork, archive, read, resume) is done by
 * the owner: any other node forwards the call to it (NodeCalls) and relays the answer. An API node places new
 * sessions, and sessions whose node died, on a live worker; that worker reopens the thread with the agent's
 * own resume. Reads (the session, its turns, its events) come from the shared store on any node.
 */
export class ClusterSessions extends SessionManager {
  constructor(
    store: Store,
    log: EventLog,
    registry: AgentRegistry,
    config: Config,
    active: ActiveRuns,
    node: string,
    private readonly cluster: SessionCluster,
  ) {
    super(store, log, registry, config, active, node)
  }

  /** This node doing what another node asked of it (serve-session-calls.ts): never forwarded again. */
  readonly here = {
    create: (agentId: string, fields: CreateSession, id?: string) => super.create(agentId, fields, id),
    startTurn: (id: string, input: TurnInput, onBusy: OnBusy, options?: TurnOptions, turnId?: string) =>
      super.startTurn(id, input, onBusy, options, turnId),
    interrupt: async (id: string) => (await super.interrupt(id)).id,
    fork: (id: string) => super.fork(id),
    archive: (id: string) => super.archive(id),
    read: (id: string, includeTurns: boolean) => super.read(id, includeTurns),
    resume: (id: string) => super.resume(id),
    call: (agentId: string, method: string, params: unknown) => super.call(agentId, method, params),
  }

  override async startTurn(
    id: string,
    input: TurnInput,
    onBusy: OnBusy = 'queue',
    options: TurnOptions = {},
    turnId?: string,
  ): Promise<Turn> {
    const here = () => super.startTurn(id, input, onBusy, options, turnId)
    // Whatever the turn has beyond text goes along: the owner applies (or refuses) it, never drops or misreads
    // it. A node of an older version would take `session.turn` and ignore or misread it (its options, its image
    // items), so such a turn goes by a method only nodes that can take it answer (turn-call.ts). So does the id
    // an Idempotency-Key chose for it (a retry on any node finds the turn under it): an older node would make
    // the turn under an id of its own.
    const needs = needsOf(input, options, turnId)
    const method = turnMethodFor(needs)
    const params = {
      id,
      input,
      onBusy,
      ...(turnId ? { turnId } : {}),
      ...(needs.length ? { options } : {}),
      ...(method === turnMethods.needs ? { needs } : {}),
    }
    if (method === turnMethods.plain) return this.onOwner(id, method, params, here)
    return this.onOwner(id, method, params, here, 'untaken', (at) =>
      this.forward<Turn>(at, method, params).catch((err: unknown) => {
        if (!lacksMethod(err, at, method)) throw err
        throw heldByOlderNode(id, at, needs, options)
      }),
    )
  }

  override async interrupt(id: string): Promise<Turn> {
    const here = async () => (await super.interrupt(id)).id
    return this.getTurn(await this.onOwner<string>(id, 'session.interrupt', { id }, here))
  }

  override async fork(id: string): Promise<Session> {
    return this.onOwner(id, 'session.fork', { id }, () => super.fork(id))
  }

  override async archive(id: string): Promise<Session> {
    return this.onOwner(id, 'session.archive', { id }, () => super.archive(id))
  }

  override async read(id: string, includeTurns: boolean): Promise<unknown> {
    const params = { id, includeTurns }
    return this.onOwner(id, 'session.read', params, () => super.read(id, includeTurns), 'always')
  }

  override async resume(id: string): Promise<Session> {
    return this.onOwner(id, 'session.resume', { id }, () => super.resume(id), 'always')
  }

  override async create(agentId: string, fields: CreateSession, id?: string): Promise<Session> {
    if (this.cluster.membership.role !== 'api') return super.create(agentId, fields, id)
    // `id` (an Idempotency-Key's: request-keys.ts) goes along; a worker of an older version makes its own
    return this.placed('session.create', { agentId, fields, ...(id ? { id } : {}) }, id ?? newId('ses'))
  }

  override async call(agentId: string, method: string, params: unknown): Promise<unknown> {
    if (this.cluster.membership.role !== 'api') return super.call(agentId, method, params)
    return this.placed('agent.call', { agentId, method, params }, newId('call'))
  }

  protected override async stillOwns(id: string): Promise<boolean> {
    return (await this.store.ownerOf(id)) === this.node
  }

  /** Held here: this process knows; held by another node: its session's status in the store says. */
  override async busy(id: string): Promise<boolean> {
    if (this.isBusy(id)) return true
    const owner = await this.store.ownerOf(id)
    if (!owner || owner === this.node) return false
    const status = (await this.store.getSession(id))?.status
    return status === 'running' || status === 'waiting_for_approval'
  }

  /** Waits for a turn running on any node: from its events (the owner stores the turn before announcing its end). */
  override async waitTurn(turnId: string, timeoutMs?: number): Promise<Turn> {
    if (this.holdsTurn(turnId)) return super.waitTurn(turnId, timeoutMs)
    const first = await this.getTurn(turnId)
    if (!isOpen(first)) return first
    const from = (await this.mustGet(first.sessionId)).lastSeq
    const turn = await this.getTurn(turnId)
    if (!isOpen(turn)) return turn
    const stop = new AbortController()
    const timer = timeoutMs ? setTimeout(() => stop.abort(), timeoutMs) : undefined
    try {
      for await (const ev of this.events(turn.sessionId, from, stop.signal))
        if ((ev.type === 'turn.completed' || ev.type === 'turn.failed') && ev.turnId === turnId) break
    } catch (err) {
      if (!stop.signal.aborted) throw err
    } finally {
      clearTimeout(timer)
      stop.abort()
    }
    return this.getTurn(turnId)
  }

  /**
   * The node that must act on the session, or undefined when this node does (or when there is no such session:
   * then this node answers 404). A session whose node is gone is recovered first, then placed. An owner whose
   * liveness lock is seen free is judged before anything is sent to it (NodeMembership.isLiveConfirmed, at most
   * LockWatch's confirmMs): dead, its work is taken over now (recoverLost, the same pass as the periodic check's,
   * so the store's marks and claims keep one owner per session) rather than at the next check, and the session
   * placed again; alive (its lock held again, or a heartbeat meanwhile), the call goes to it.
   */
  private async ownerFor(id: string, judged = false): Promise<string | undefined> {
    const owner = await this.store.ownerOf(id)
    if (owner === undefined) return undefined
    const { membership } = this.cluster
    const runners = await membership.liveRunnerIds()
    if (owner !== null && runners.includes(owner)) {
      if (owner === this.node) return undefined
      if (judged || (await membership.isLiveConfirmed(owner))) return owner
      await this.cluster.recoverLost()
      return this.ownerFor(id, true)
    }
    if (owner !== null && !(await membership.isLive(owner))) await this.cluster.recoverLost()
    return membership.role === 'api' ? this.pickRunner(id) : undefined
  }

  /**
   * Does `method` on session `id` where it lives: here (`here`) when this node is its owner, else on the owner
   * (`relay`, by default `forward`). When the owner died with the call unanswered (CallUnanswered, judged by the
   * call's own looks at it), the call is done again where the session goes next (the dead owner's work taken over
   * first: recoverLost, as ownerFor does) only if that is safe: the owner never took the call (its message was
   * withdrawn: proven not applied), or `repeat` is `always` (a read, or resume, whose second doing has no effect
   * the first would not have had). Otherwise 503 `outcome_unknown`: the client reads the session before sending
   * it again (a turn twice is two turns). Once only: a second failure is answered as it is.
   */
  private async onOwner<T>(
    id: string,
    method: string,
    params: object,
    here: () => Promise<T>,
    repeat: 'untaken' | 'always' = 'untaken',
    relay: (at: string) => Promise<T> = (at) => this.forward<T>(at, method, params),
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const at = await this.ownerFor(id)
      if (!at) return here()
      try {
        return await relay(at)
      } catch (err) {
        if (!(err instanceof CallUnanswered)) throw err
        if (err.taken && repeat !== 'always') throw outcomeUnknown(err, id)
        if (err.why !== 'dead' || attempt > 1) throw err
        await this.cluster.recoverLost()
      }
    }
  }

  /**
   * Places `method` (a new session, an agent call) on a runner picked by `key`. A runner that died before it took
   * the call (proven not done) is passed over for another, once; one that took it: 503 `outcome_unknown`.
   */
  private async placed<T>(method: string, params: object, key: string): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const at = await this.pickRunner(key)
      try {
        return await this.forward<T>(at, method, params)
      } catch (err) {
        if (!(err instanceof CallUnanswered)) throw err
        if (err.taken) throw outcomeUnknown(err)
        if (err.why !== 'dead' || attempt > 1) throw err
      }
    }
  }

  /**
   * The worker a session goes to: spread by its id over the placeable runners (live, and none this node has reason
   * to think dying: NodeMembership.placeableRunnerIds), the same on every API node that sees them alike.
   */
  private async pickRunner(key: string): Promise<string> {
    const runners = [...(await this.cluster.membership.placeableRunnerIds())].sort()
    if (runners.length === 0)
      throw new AppError('worker_unavailable', 'no worker is running: start one (GATEWAY_ROLE=worker)', {
        retryAfterSeconds: 5,
      })
    let hash = 0
    for (const c of key) hash = (hash * 31 + c.charCodeAt(0)) >>> 0
    return runners[hash % runners.length]!
  }

  /**
   * Asks node `to` to do `method` in this tenant's scope: there, as here, another tenant's session is not found
   * (so a session id alone never reaches across tenants).
   */
  private forward<T>(to: string, method: string, params: object): Promise<T> {
    const call = { tenant: this.cluster.tenant, ...params }
    return this.cluster.calls.call<T>(to, method, call, this.cluster.callTimeoutMs)
  }
}

/**
 * The longest a call forwarded to a session's owner may take: the owner's own codex request may take
 * CODEX_REQUEST_TIMEOUT (a steer, a fork), and after it the owner still stores what came of it (a failed steer's
 * withdrawal) or waits for the fork point's event (heldEventWaitMs). Bounded at the same time as codex, the caller
 * gave up just before the owner's answer came: 503 `outcome_unknown` instead of the owner's own error. A dead owner
 * ends the call sooner either way.
 */
export const forwardTimeoutMs = (codexRequestTimeoutSeconds: number): number =>
  codexRequestTimeoutSeconds * 1000 + heldEventWaitMs + 10_000

/** A call that the node it went to took, then left unanswered: it may have been done, so it is not sent again. */
function outcomeUnknown(err: CallUnanswered, sessionId?: string): AppError {
  const what =
    err.why === 'dead'
      ? `stopped after it took ${err.method}`
      : `took ${err.method} but did not answer it in time`
  const check = sessionId
    ? `the session's turns (GET /v1/sessions/${sessionId}; a turn that node started is failed once the session is ` +
      `taken over) or its events (GET /v1/sessions/${sessionId}/events)`
    : 'the sessions (GET /v1/sessions)'
  return new AppError(
    'outcome_unknown',
    `node ${err.to} ${what}: whether it was done is unknown, so it was not sent again; read ${check} before sending it again`,
    { node: err.to, method: err.method, ...(sessionId ? { sessionId } : {}) },
    { cause: err },
  )
}

const isOpen = (t: Turn) => t.status === 'queued' || t.status === 'running'
