import type { AgentRegistry } from '../agents/registry.js'
import type { AgentSession, SessionHooks, SessionRequest, TurnInput } from '../agents/session.js'
import type { Config } from '../config/load.js'
import { AppError, orNotFound } from '../protocol/errors.js'
import type { StoredEvent } from '../protocol/events.js'
import type { Item } from '../protocol/items.js'
import type { Session, Turn } from '../protocol/sessions.js'
import type { SessionFilter, Store } from '../store/store.js'
import type { ActiveRuns } from './active-runs.js'
import type { ApprovalBroker } from './approvals.js'
import type { EventLog } from './event-log.js'
import { newId } from './ids.js'
import { ensureReady } from './one-shot.js'
import { effectiveLimits } from './ops/budget.js'
import {
  type CreateSession,
  newSessionRequest,
  sessionDriverOf,
  sessionRecord,
  sessionRequestOf,
} from './session-request.js'
import { executeTurn, TurnRefused } from './turn-execution.js'
import { resolveCwd } from './workspace.js'

export type OnBusy = 'queue' | 'steer' | 'reject'
export type { CreateSession }

interface Live {
  agent: AgentSession
  queue: Turn[]
  current?: { turn: Turn; controller: AbortController }
  /** Unloads the session once it stayed idle for SESSION_IDLE_SECONDS. */
  idleTimer?: NodeJS.Timeout
}

/**
 * Sessions as durable resources: a session is the agent's own thread; its turns run one at a time (others
 * queue, steer or are refused), and every event goes through the EventLog under the session's id, so clients
 * replay and follow a session like a run. The session's state (idle, running, waiting_for_approval, archived)
 * is computed here and always visible. Live agent sessions are reopened lazily (`resumeSession`) after a
 * restart of the gateway or of the agent.
 */
export class SessionManager {
  private readonly live = new Map<string, Live>()
  private readonly opening = new Map<string, Promise<Live>>()
  /** Sessions being unloaded: reopening one waits until the driver let go of it. */
  private readonly unloading = new Map<string, Promise<void>>()
  private readonly turnsDone = new Map<string, Promise<void>>()
  private readonly markTurnDone = new Map<string, () => void>()
  private accepting = true
  approvals!: ApprovalBroker
  /** Runs before each turn: null to go on, or why the turn may not run (budgets, core/ops/session-budget.ts). */
  budgetGate?: (sessionId: string, turnId: string, signal: AbortSignal) => Promise<string | null>

  constructor(
    protected readonly store: Store,
    private readonly log: EventLog,
    private readonly registry: AgentRegistry,
    private readonly config: Config,
    private readonly active: ActiveRuns,
    /** The node (this gateway process) whose agent processes hold the sessions it opens. */
    protected readonly node: string,
  ) {}

  /**
   * Sessions a lost node left mid-way: their turns failed, the sessions idle (their threads live on) and owned
   * by this node, which reopens them when they are next used. Returns them.
   */
  async recover(lost: readonly string[]): Promise<Session[]> {
    const orphaned = await this.store.takeOverSessions(lost, this.node)
    for (const s of orphaned) {
      for (const status of ['queued', 'running'] as const)
        for (const t of await this.store.listTurns(s.id, status))
          await this.finishTurn(s.id, t.id, {
            status: 'failed',
            error: 'the server stopped before this turn finished',
          })
      if (s.status === 'running' || s.status === 'waiting_for_approval') await this.setStatus(s.id, 'idle')
    }
    return orphaned
  }

  async create(agentId: string, fields: CreateSession): Promise<Session> {
    this.assertAccepting()
    const driver = sessionDriverOf(this.registry, agentId)
    const id = newId('ses')
    const req = newSessionRequest(this.config, fields, id)
    const limits = effectiveLimits(fields.limits, this.config)
    await ensureReady(driver)
    const agent = await driver.openSession(req, this.hooks(id))
    let created: Session
    try {
      created = await this.record(id, driver.id, agent, req, null, fields.externalId)
    } catch (err) {
      await agent.close().catch(() => {})
      throw err
    }
    if (!fields.webhook && !limits) return created
    const extra = { ...(fields.webhook ? { webhook: fields.webhook } : {}), ...(limits ? { limits } : {}) }
    return (await this.store.updateSession(id, extra)) ?? created
  }

  /** The session a client named itself, or undefined. */
  byExternalId(externalId: string): Promise<Session | undefined> {
    return this.store.findSessionByExternalId(externalId)
  }

  /** Whether a turn of the session is running in this process now. */
  isBusy(id: string): boolean {
    return this.live.get(id)?.current !== undefined
  }

  /** Whether a turn of the session is running now, wherever the session lives (ClusterSessions). */
  async busy(id: string): Promise<boolean> {
    return this.isBusy(id)
  }

  async fork(id: string): Promise<Session> {
    this.assertAccepting()
    const parent = await this.mustGet(id)
    // An agent keeps no thread on disk before its first turn, so there is nothing to copy yet.
    if (parent.turnCount === 0)
      throw new AppError(
        'conflict',
        `session ${id} has no turns yet; start a turn (POST /v1/sessions/${id}/turns), then fork it`,
      )
    const live = await this.ensureLive(parent)
    const forkId = newId('ses')
    const agent = await live.agent.fork()
    return this.record(forkId, parent.agent, agent, sessionRequestOf(parent), parent.id)
  }

  async archive(id: string): Promise<Session> {
    const session = await this.mustGet(id)
    if (session.status === 'archived') return session
    const live = await this.ensureLive(session)
    live.current?.controller.abort('cancelled')
    for (const t of live.queue.splice(0)) {
      await this.finishTurn(id, t.id, { status: 'interrupted', error: 'session archived' })
      this.releaseTurn(t.id)
    }
    clearTimeout(live.idleTimer)
    await live.agent.archive()
    await live.agent.close()
    this.live.delete(id)
    await this.setStatus(id, 'archived')
    return this.mustGet(id)
  }

  get(id: string): Promise<Session | undefined> {
    return this.store.getSession(id)
  }

  mustGet(id: string): Promise<Session> {
    return orNotFound(this.store.getSession(id), `session ${id}`)
  }

  /** Looks a session up by the agent's own id (the seed 003 API speaks codex thread ids). */
  byAgentSessionId(agentSessionId: string): Promise<Session> {
    return orNotFound(this.store.findSessionByAgentId(agentSessionId), `thread ${agentSessionId}`)
  }

  list(filter: SessionFilter): Promise<Session[]> {
    return this.store.listSessions(filter)
  }

  turns(id: string): Promise<Turn[]> {
    return this.store.listTurns(id)
  }

  getTurn(turnId: string): Promise<Turn> {
    return orNotFound(this.store.getTurn(turnId), `turn ${turnId}`)
  }

  /** Starts a turn, or follows `onBusy` when one runs: queue it (default), steer the running one, or 409. */
  async startTurn(id: string, input: TurnInput, onBusy: OnBusy = 'queue'): Promise<Turn> {
    this.assertAccepting()
    const session = await this.mustGet(id)
    if (session.status === 'archived') throw new AppError('conflict', `session ${id} is archived`)
    this.confine(session)
    const live = await this.ensureLive(session)
    if (live.current || live.queue.length > 0) {
      if (onBusy === 'reject')
        throw new AppError('conflict', `session ${id} is busy with turn ${live.current?.turn.id}`)
      if (onBusy === 'steer' && live.current) {
        await live.agent.steer(input)
        return live.current.turn
      }
      if (live.queue.length >= this.config.MAX_QUEUED_TURNS)
        throw new AppError('over_capacity', `session ${id} already has ${live.queue.length} queued turns`, {
          retryAfterSeconds: 5,
        })
    }
    const turn: Turn = {
      id: newId('turn'),
      sessionId: id,
      agentTurnId: null,
      status: 'queued',
      input,
      createdAt: new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
      finalResponse: null,
      usage: null,
      error: null,
    }
    await this.store.createTurn(turn)
    let done!: () => void
    this.turnsDone.set(turn.id, new Promise<void>((resolve) => (done = resolve)))
    this.markTurnDone.set(turn.id, done)
    live.queue.push(turn)
    this.pump(id, live)
    return turn
  }

  /** Resolves with the turn once it finished (or at once if it already did). */
  async waitTurn(turnId: string, timeoutMs?: number): Promise<Turn> {
    const done = this.turnsDone.get(turnId)
    if (done && timeoutMs) await Promise.race([done, new Promise((r) => setTimeout(r, timeoutMs).unref())])
    else if (done) await done
    return this.getTurn(turnId)
  }

  /** Whether the turn was started by this process and has not ended yet. */
  protected holdsTurn(turnId: string): boolean {
    return this.turnsDone.has(turnId)
  }

  /** Interrupts the running turn; resolves with it once it ended. 409 when nothing runs. */
  async interrupt(id: string): Promise<Turn> {
    await this.mustGet(id)
    const current = this.live.get(id)?.current
    if (!current) throw new AppError('conflict', `session ${id} has no turn in progress`)
    current.controller.abort('cancelled')
    return this.waitTurn(current.turn.id)
  }

  events(id: string, after: number, signal?: AbortSignal): AsyncGenerator<StoredEvent> {
    return this.log.subscribe(
      id,
      after,
      (ev) => ev.type === 'session.status' && ev.status === 'archived',
      async () => (await this.store.getSession(id))?.status === 'archived',
      signal,
    )
  }

  /** The agent's own record of the thread (codex `thread/read`), reopening the session if needed. */
  async read(id: string, includeTurns: boolean): Promise<unknown> {
    const session = await this.mustGet(id)
    const live = await this.ensureLive(session)
    // codex cannot list the turns of a thread that has none yet ("not supported yet"); there are none to list
    return live.agent.read(includeTurns && session.turnCount > 0)
  }

  /** Reopens the session in the agent now (seed 003 `thread/resume`); a no-op when it is already open. */
  async resume(id: string): Promise<Session> {
    await this.ensureLive(await this.mustGet(id))
    return this.mustGet(id)
  }

  /** The items a turn completed, from the stored events (between its turn.started and its end). */
  async itemsOfTurn(sessionId: string, turnId: string): Promise<Item[]> {
    const items: Item[] = []
    let inside = false
    for await (const ev of this.log.replay(sessionId)) {
      if (ev.type === 'turn.started' && ev.turnId === turnId) inside = true
      else if (inside && ev.type === 'item.completed') items.push(ev.item)
      else if (inside && (ev.type === 'turn.completed' || ev.type === 'turn.failed') && ev.turnId === turnId)
        break
    }
    return items
  }

  /** Passes an agent-specific call through (seed 003: skills/list, skills/config/write, thread/read). */
  call(agentId: string, method: string, params: unknown): Promise<unknown> {
    return sessionDriverOf(this.registry, agentId).call(method, params)
  }

  /** Recomputes and records the session's state when it changed. */
  async refreshStatus(id: string): Promise<void> {
    const session = await this.store.getSession(id)
    if (!session || session.status === 'archived') return
    const pending = (await this.store.listApprovals({ state: 'pending', sessionId: id, limit: 1 })).length > 0
    const live = this.live.get(id)
    const next = pending ? 'waiting_for_approval' : live?.current ? 'running' : 'idle'
    if (next !== session.status) await this.setStatus(id, next)
  }

  stopAccepting(): void {
    this.accepting = false
  }

  /** Ends what the drivers hold for live sessions (the agents' histories stay). */
  async closeAll(): Promise<void> {
    // all at once: each may wait KILL_GRACE_MS for its agent to exit, and 20 in a row outlasted any grace
    for (const live of this.live.values()) clearTimeout(live.idleTimer)
    await Promise.all([...this.live.values()].map((live) => live.agent.close().catch(() => {})))
    this.live.clear()
    await Promise.all(this.unloading.values())
  }

  async idle(): Promise<void> {
    await Promise.all([...this.turnsDone.values()])
  }

  private pump(id: string, live: Live): void {
    if (live.current || live.queue.length === 0) {
      this.unloadWhenIdle(id, live)
      return
    }
    clearTimeout(live.idleTimer)
    const turn = live.queue.shift()!
    const controller = this.active.track()
    live.current = { turn, controller }
    void this.execute(id, live, turn, controller).finally(() => {
      this.active.release(controller)
      live.current = undefined
      this.releaseTurn(turn.id)
      if (this.accepting) this.pump(id, live)
    })
  }

  /**
   * A session idle for SESSION_IDLE_SECONDS is unloaded: the driver lets go of it (codex unloads the thread and
   * ends its commands; a per-session agent process ends); the next use resumes it (ensureLive).
   */
  private unloadWhenIdle(id: string, live: Live): void {
    const idleMs = this.config.SESSION_IDLE_SECONDS * 1000
    if (idleMs === 0 || !this.accepting) return
    clearTimeout(live.idleTimer)
    live.idleTimer = setTimeout(() => {
      if (this.live.get(id) !== live || live.current || live.queue.length > 0) return
      this.live.delete(id)
      const closing = live.agent
        .close()
        .catch(() => {})
        .finally(() => {
          if (this.unloading.get(id) === closing) this.unloading.delete(id)
        })
      this.unloading.set(id, closing)
    }, idleMs)
    live.idleTimer.unref()
  }

  /** Whether the session is loaded in its agent now (not unloaded for idleness, not yet resumed). */
  isLoaded(id: string): boolean {
    return this.live.has(id)
  }

  private releaseTurn(turnId: string): void {
    this.markTurnDone.get(turnId)?.()
    this.markTurnDone.delete(turnId)
    this.turnsDone.delete(turnId)
  }

  private async execute(id: string, live: Live, turn: Turn, controller: AbortController): Promise<void> {
    await this.store.updateTurn(turn.id, { status: 'running', startedAt: new Date().toISOString() })
    await this.refreshStatus(id)
    const { ended, finalResponse, end } = await executeTurn(
      {
        log: this.log,
        store: this.store,
        refreshStatus: () => this.refreshStatus(id),
        beforeStart: async () => {
          const refused = await this.budgetGate?.(id, turn.id, controller.signal)
          if (refused) throw new TurnRefused(refused)
          // The directory may have been replaced (e.g. by a symlink out of the workspace) since the session
          // was created or the turn queued: check again right before the agent works in it.
          const session = await this.store.getSession(id)
          if (session) this.confine(session)
        },
      },
      id,
      live.agent,
      turn,
      controller.signal,
    )
    // Taken over meanwhile (this node was taken for dead): the turn stays as the node that took it recorded it.
    if (!(await this.stillOwns(id))) return
    const now = new Date().toISOString()
    await this.store.completeTurn(turn.id, { ...ended, finalResponse, finishedAt: now }, now)
    if (end) await this.log.append(id, end)
    live.current = undefined
    await this.refreshStatus(id)
  }

  /** Whether this node still holds the session (in a cluster another node may have taken it over). */
  protected async stillOwns(_id: string): Promise<boolean> {
    return true
  }

  /**
   * After this node was taken for dead: lets go of the sessions another node took over (their running turn is
   * interrupted and not recorded, their agent closed); their next use reopens them where they are placed.
   */
  async dropTakenOver(): Promise<number> {
    const lost: [string, Live][] = []
    for (const [id, live] of this.live) if (!(await this.stillOwns(id))) lost.push([id, live])
    for (const [id, live] of lost) {
      if (this.live.get(id) === live) this.live.delete(id)
      clearTimeout(live.idleTimer)
      for (const t of live.queue.splice(0)) this.releaseTurn(t.id)
      live.current?.controller.abort()
    }
    await Promise.all(lost.map(([, live]) => live.agent.close().catch(() => {})))
    return lost.length
  }

  private async finishTurn(
    sessionId: string,
    turnId: string,
    patch: Partial<Turn>,
    announce = true,
  ): Promise<void> {
    await this.store.updateTurn(turnId, { ...patch, finishedAt: new Date().toISOString() })
    if (announce && patch.status === 'failed')
      await this.log.append(sessionId, { type: 'turn.failed', turnId, error: patch.error ?? 'failed' })
    if (announce && patch.status === 'interrupted')
      await this.log.append(sessionId, { type: 'turn.completed', turnId, status: 'interrupted', usage: null })
  }

  private async setStatus(id: string, status: Session['status']): Promise<void> {
    await this.store.updateSession(id, { status, updatedAt: new Date().toISOString() })
    await this.log.append(id, { type: 'session.status', status })
  }

  private async record(
    id: string,
    agentId: string,
    agent: AgentSession,
    req: SessionRequest,
    forkedFrom: string | null,
    externalId?: string,
  ): Promise<Session> {
    const session = sessionRecord({
      id,
      agentId,
      agentSessionId: agent.agentSessionId,
      req,
      forkedFrom,
      externalId,
    })
    await this.store.createSession(session, this.node)
    const live: Live = { agent, queue: [] }
    this.live.set(id, live)
    this.unloadWhenIdle(id, live)
    await this.log.append(id, { type: 'session.status', status: 'idle' })
    return this.mustGet(id)
  }

  /** The live agent session, reopened with `resumeSession` when this process does not hold it. */
  private async ensureLive(session: Session): Promise<Live> {
    if (session.status === 'archived')
      throw new AppError(
        'conflict',
        `session ${session.id} is archived; its thread can no longer be used: start a new session (POST /v1/sessions)`,
      )
    const live = this.live.get(session.id)
    if (live) {
      // Another node that reopened the thread since holds the newer copy: this one is dropped (unless busy).
      if (live.current || live.queue.length > 0 || (await this.store.ownerOf(session.id)) === this.node)
        return live
      this.live.delete(session.id)
      clearTimeout(live.idleTimer)
      await live.agent.close().catch(() => {})
    }
    const pending = this.opening.get(session.id)
    if (pending) return pending
    const opening = (async () => {
      await this.unloading.get(session.id)
      this.confine(session)
      const driver = sessionDriverOf(this.registry, session.agent)
      await ensureReady(driver)
      const agent = await driver.resumeSession(
        session.agentSessionId,
        sessionRequestOf(session),
        this.hooks(session.id),
      )
      const opened: Live = { agent, queue: [] }
      await this.store.claimSession(session.id, this.node)
      this.live.set(session.id, opened)
      this.unloadWhenIdle(session.id, opened)
      return opened
    })().finally(() => this.opening.delete(session.id))
    this.opening.set(session.id, opening)
    return opening
  }

  private hooks(sessionId: string): SessionHooks {
    return {
      requestApproval: (ask, signal) =>
        this.approvals.request(sessionId, this.live.get(sessionId)?.current?.turn.id ?? null, ask, signal),
    }
  }

  /** Confinement holds for every turn, not only at creation: the session's cwd must still resolve inside a root. */
  private confine(s: Session): void {
    resolveCwd(s.cwd, this.config.workspaceRoots)
  }

  private assertAccepting(): void {
    if (!this.accepting)
      throw new AppError('shutting_down', 'the server is shutting down and accepts no new turns')
  }
}
