import type { AgentRegistry } from '../agents/registry.js'
import type { AgentSession, SessionDriver, SessionHooks, SessionRequest } from '../agents/session.js'
import type { Config } from '../config/load.js'
import { AppError } from '../protocol/errors.js'
import type { ApprovalPolicy } from '../protocol/policies.js'
import type { Session, Turn } from '../protocol/sessions.js'
import { firstClaim, type SessionClaim, type Store } from '../store/store.js'
import { forkSource } from './held-history.js'
import { ensureReady } from './one-shot.js'
import { sessionDriverOf, sessionRequestOf } from './session-request.js'

/** A session open in its agent in this process, with the turns it holds (turn-queue.ts runs them). */
export interface LiveSession {
  agent: AgentSession
  /** The session's claim this node got when it opened it: every session write it makes carries it (store.ts). */
  claim: SessionClaim
  /** The session's working directory (fixed at creation), confined again before every turn. */
  cwd: string
  /** The agent's id of the session as stored (`agent.agentSessionId` may change: storeAgentSessionId). */
  agentSessionId: string
  queue: Turn[]
  current?: { turn: Turn; controller: AbortController }
  /** Unloads the session once it stayed idle for SESSION_IDLE_SECONDS. */
  idleTimer?: NodeJS.Timeout
  /** Whether the session has limits (set at creation, never after; false: no budget gate to run). */
  limited: boolean
  /** The session's approval policy (fixed at creation): what a turn that names none runs with, for its record. */
  approvalPolicy: ApprovalPolicy | null
  /** Whether its agent runs in a container (`isolation`, fixed at creation): its turns' images are staged for one. */
  inContainer: boolean
  /** Its agent's close, once begun (LiveSessions.closeAgent): every close after it waits for that one. */
  closing?: Promise<void>
}

export interface LiveSessionsContext {
  store: Store
  registry: AgentRegistry
  config: Config
  /** The node (this gateway process) whose agent processes hold the sessions it opens. */
  node: string
  /** What the agent asks of the gateway while it works for a session (approvals). */
  hooks(sessionId: string): SessionHooks
  /** Throws when the session's cwd no longer resolves inside a workspace root. */
  confine(session: Session): void
  /** False once the gateway shuts down: nothing is scheduled for unloading any more. */
  accepting(): boolean
  /** Whether this node still holds the session (in a cluster another node may have taken it over). */
  stillOwns(sessionId: string): Promise<boolean>
  /**
   * The session was just claimed here (reopened): what its claim left behind (turns still open in the store,
   * session-recovery.ts recoverClaimed) is ended, before any turn of it runs here.
   */
  claimed(session: Session, claim: SessionClaim): Promise<void>
}

/** Whether the session has a turn running or waiting. */
export const hasTurns = (live: LiveSession): boolean => live.current !== undefined || live.queue.length > 0

/**
 * The cache of sessions open in their agents in this process: opened when created, reopened lazily with the
 * driver's `resumeSession` (after a restart of the gateway or of the agent, an idle unload, or when another node
 * held it meanwhile), unloaded after SESSION_IDLE_SECONDS idle, dropped when another node took them over.
 */
export class LiveSessions {
  private readonly live = new Map<string, LiveSession>()
  private readonly opening = new Map<string, Promise<LiveSession>>()
  /** Sessions being unloaded: reopening one waits until the driver let go of it. */
  private readonly unloading = new Map<string, Promise<void>>()
  /** Sessions being created or forked now (their agent opening): closeAll waits for them. */
  private readonly creating = new Set<Promise<unknown>>()
  /**
   * No session opens now: closeAll runs (one opened meanwhile would escape it), or it ran for the gateway's stop
   * (which stopped accepting first), so an agent opened now would outlive the stop.
   */
  private closed = false

  constructor(private readonly ctx: LiveSessionsContext) {}

  get(id: string): LiveSession | undefined {
    return this.live.get(id)
  }

  /** Whether the session is loaded in its agent now (not unloaded for idleness, not yet resumed). */
  has(id: string): boolean {
    return this.live.has(id)
  }

  /**
   * A session's creation or fork (which opens its agent and then `add`s it): refused once closeAll began, else
   * waited for by it, so the agent it opens is closed with the others, never left running after the stop.
   */
  creation<T>(create: () => Promise<T>): Promise<T> {
    this.refuseWhenClosed()
    const created = create()
    const settled = created.then(
      () => {},
      () => {},
    )
    this.creating.add(settled)
    void settled.then(() => this.creating.delete(settled))
    return created
  }

  /** Holds a session its agent just opened (a new one or a fork: its claim is the first). */
  add(
    id: string,
    agent: AgentSession,
    session: Pick<Session, 'cwd' | 'approvalPolicy' | 'isolation'>,
    limited: boolean,
  ): LiveSession {
    const live: LiveSession = {
      agent,
      cwd: session.cwd,
      agentSessionId: agent.agentSessionId,
      queue: [],
      claim: firstClaim,
      limited,
      approvalPolicy: session.approvalPolicy,
      inContainer: session.isolation === 'container',
    }
    this.live.set(id, live)
    this.unloadWhenIdle(id, live)
    return live
  }

  /**
   * The live agent session when this process holds it and still owns it (the owner read `ensure` makes; another
   * node may have reopened the thread since), or undefined: then `ensure` with the session's document. `owner`:
   * the session's owner as the caller just read it (Store.sessionState), so it is not read again.
   */
  async held(id: string, owner?: string | null): Promise<LiveSession | undefined> {
    const live = this.live.get(id)
    if (!live || hasTurns(live)) return live
    return (owner !== undefined ? owner : await this.ctx.store.ownerOf(id)) === this.ctx.node
      ? live
      : undefined
  }

  /** The live agent session, reopened with `resumeSession` when this process does not hold it. */
  async ensure(session: Session): Promise<LiveSession> {
    if (session.status === 'archived')
      throw new AppError(
        'conflict',
        `session ${session.id} is archived; its thread can no longer be used: start a new session (POST /v1/sessions)`,
      )
    const live = this.live.get(session.id)
    if (live) {
      // Another node that reopened the thread since holds the newer copy: this one is dropped (unless busy).
      if (hasTurns(live) || (await this.ctx.store.ownerOf(session.id)) === this.ctx.node) return live
      this.live.delete(session.id)
      clearTimeout(live.idleTimer)
      await live.agent.close().catch(() => {})
    }
    const pending = this.opening.get(session.id)
    if (pending) return pending
    const opening = this.reopen(session).finally(() => this.opening.delete(session.id))
    this.opening.set(session.id, opening)
    return opening
  }

  private async reopen(session: Session): Promise<LiveSession> {
    await this.unloading.get(session.id)
    this.refuseWhenClosed()
    this.ctx.confine(session)
    const driver = sessionDriverOf(this.ctx.registry, session.agent)
    await ensureReady(driver)
    this.refuseWhenClosed()
    const parent = await forkOf(this.ctx.store, session)
    const { agent, started } = await resumeOrStart(
      driver,
      session,
      this.ctx.hooks(session.id),
      parent,
      this.ctx.config.DATA_DIR,
    )
    // opened while closeAll ran (which waited for it): its agent is closed here, not left to nobody
    if (this.closed) {
      await agent.close().catch(() => {})
      this.refuseWhenClosed()
    }
    // A node taken for dead claims nothing (NotAMember, 503): it lets go of the thread it just reopened.
    const claim = await this.ctx.store.claimSession(session.id, this.ctx.node).catch(async (err: unknown) => {
      await agent.close().catch(() => {})
      throw err
    })
    // a new thread, or one the agent resumed under another id (claude-agent-acp when its conversation was gone)
    const moved = agent.agentSessionId !== undefined && agent.agentSessionId !== session.agentSessionId
    if (started || moved)
      await this.ctx.store
        .updateSession(session.id, { agentSessionId: agent.agentSessionId }, claim)
        .catch(async (err: unknown) => {
          await agent.close().catch(() => {})
          throw err
        })
    await this.ctx.claimed(session, claim).catch(async (err: unknown) => {
      await agent.close().catch(() => {})
      throw err
    })
    const opened: LiveSession = {
      agent,
      cwd: session.cwd,
      agentSessionId: started ? agent.agentSessionId : session.agentSessionId,
      queue: [],
      claim,
      limited: Boolean(session.limits),
      approvalPolicy: session.approvalPolicy,
      inContainer: session.isolation === 'container',
    }
    this.live.set(session.id, opened)
    this.unloadWhenIdle(session.id, opened)
    return opened
  }

  /**
   * Stores the agent's id of the session when it changed since it was stored (an ACP session whose process ended
   * and which its agent could not load again goes on in a new session: reopening-session.ts), so the session's
   * next resume loads that one. A refused write is tried again after the next turn.
   */
  async storeAgentSessionId(id: string, live: LiveSession): Promise<void> {
    const now = live.agent.agentSessionId
    if (now === live.agentSessionId) return
    await this.ctx.store.updateSession(id, { agentSessionId: now }, live.claim).then(
      () => {
        live.agentSessionId = now
      },
      () => {},
    )
  }

  /**
   * A session idle for SESSION_IDLE_SECONDS is unloaded: the driver lets go of it (codex unloads the thread and
   * ends its commands; a per-session agent process ends); the next use resumes it (ensure).
   */
  unloadWhenIdle(id: string, live: LiveSession): void {
    const idleMs = this.ctx.config.SESSION_IDLE_SECONDS * 1000
    if (idleMs === 0 || !this.ctx.accepting()) return
    // After each turn the session's one timer is re-armed, not made again; one that fired while a turn ran
    // (it did nothing then) is re-armed too. A timer cleared when the session was let go stays off.
    if (live.idleTimer) {
      live.idleTimer.refresh()
      return
    }
    live.idleTimer = setTimeout(() => {
      if (!hasTurns(live)) this.unload(id, live)
    }, idleMs)
    live.idleTimer.unref()
  }

  /**
   * The driver lets go of the session now (an idle one, or one whose turn did not stop: SessionManager.forceEnd):
   * it is no longer held here, its agent is closed (its processes end; closeAll waits for that), and its next use
   * reopens it once that close is done (ensure). A no-op when it was let go already.
   */
  unload(id: string, live: LiveSession): void {
    if (this.live.get(id) !== live) return
    this.live.delete(id)
    clearTimeout(live.idleTimer)
    const closing = this.closeAgent(live).finally(() => {
      if (this.unloading.get(id) === closing) this.unloading.delete(id)
    })
    this.unloading.set(id, closing)
  }

  /**
   * Closes the session's agent now (its processes end) while the session stays held here: a turn ended by force
   * whose end the store still refuses keeps its session busy, its next turns queued behind it, until that end is
   * stored (SessionManager.forceEnd), but its agent is not left at work meanwhile. Once: every later close (its
   * unload, closeAll) waits for this one.
   */
  closeAgent(live: LiveSession): Promise<void> {
    live.closing ??= live.agent.close().catch(() => {})
    return live.closing
  }

  /**
   * Archives the session in its agent and lets go of it for good: its agent is closed even when its archive
   * failed (that error is thrown then), so nothing of the session is left running.
   */
  async archive(id: string, live: LiveSession): Promise<void> {
    clearTimeout(live.idleTimer)
    const failed = await live.agent.archive().then(
      () => undefined,
      (err: unknown) => ({ err }),
    )
    try {
      // a failed archive's error is the one to report, not a close's after it
      await (failed ? live.agent.close().catch(() => {}) : live.agent.close())
    } finally {
      // let go of once closed (closeAll, meanwhile, still finds it and waits for it)
      if (this.live.get(id) === live) this.live.delete(id)
    }
    if (failed) throw failed.err
  }

  /**
   * After this node was taken for dead: lets go of the sessions another node took over (`endTurns` ends the
   * turns each held, their agent is closed); their next use reopens them where they are placed.
   */
  async dropTakenOver(endTurns: (id: string, live: LiveSession) => void): Promise<number> {
    const lost: [string, LiveSession][] = []
    for (const [id, live] of this.live) if (!(await this.ctx.stillOwns(id))) lost.push([id, live])
    await Promise.all(lost.map(([id, live]) => this.letGo(id, live, endTurns)))
    return lost.length
  }

  /**
   * Lets go of a session another node took over (a write of its refused, or found at the fence): it is no
   * longer held here, `endTurns` ends the turns it held, its agent is closed. False when it was let go already.
   */
  async letGo(
    id: string,
    live: LiveSession,
    endTurns: (id: string, live: LiveSession) => void,
  ): Promise<boolean> {
    if (this.live.get(id) !== live) return false
    this.live.delete(id)
    clearTimeout(live.idleTimer)
    endTurns(id, live)
    await this.closeAgent(live)
    return true
  }

  /**
   * Ends what the drivers hold for live sessions (the agents' histories stay). Sessions being opened now (a
   * request that came before the stop) are waited for and closed too; none opens while it runs, nor after it
   * once the gateway stopped accepting (its stop).
   */
  async closeAll(): Promise<void> {
    this.closed = true
    try {
      await Promise.allSettled([...this.opening.values(), ...this.creating])
      // all at once: each may wait KILL_GRACE_MS for its agent to exit, and 20 in a row outlasted any grace
      for (const live of this.live.values()) clearTimeout(live.idleTimer)
      await Promise.all([...this.live.values()].map((live) => this.closeAgent(live)))
      this.live.clear()
      await Promise.all(this.unloading.values())
    } finally {
      // a close while the gateway still accepts (not its stop) lets the next use reopen its session
      this.closed = !this.ctx.accepting()
    }
  }

  private refuseWhenClosed(): void {
    if (this.closed)
      throw new AppError('shutting_down', 'the server is shutting down and opens no session any more')
  }
}

/**
 * The session's thread, reopened with the agent's own resume. A session that never ran a turn may have nothing to
 * resume: codex writes a thread to disk at its first turn, so the thread of a session whose node died before
 * that is gone ("no rollout found"), and every later use failed, its archive too. Such a session starts a new
 * thread instead: there was no history to lose (its new agent session id is stored). A fork has its parent's
 * history from the start, whatever its own turn count: its resume's error stands. The driver is told whether the
 * session has history (SessionRequest.hasHistory): an ACP agent that cannot load the session goes on in a new one,
 * and says so (acp/driver.ts resumeSession).
 */
async function resumeOrStart(
  driver: SessionDriver,
  session: Session,
  hooks: SessionHooks,
  parent: SessionRequest['forkOf'],
  dataDir: string,
): Promise<{ agent: AgentSession; started: boolean }> {
  const hasHistory = session.turnCount > 0 || session.forkedFrom !== null
  try {
    const req = {
      ...sessionRequestOf(session, dataDir),
      ...(hasHistory ? { hasHistory } : {}),
      ...(parent ? { forkOf: parent } : {}),
    }
    return { agent: await driver.resumeSession(session.agentSessionId, req, hooks), started: false }
  } catch (err) {
    if (hasHistory) throw err
    return { agent: await driver.openSession(sessionRequestOf(session, dataDir), hooks), started: true }
  }
}

/**
 * A fork that never ran a turn: the agent session id its history is copied from and up to when (SessionRequest.forkOf),
 * for a driver whose copy of the parent's history the fork may lack: the session up its fork chain whose history
 * holds the fork point, and when that one's first turn after it started (held-history.ts forkSource); undefined
 * for any other session, or when the chain is not stored any more.
 */
async function forkOf(store: Store, session: Session): Promise<SessionRequest['forkOf']> {
  const held = await forkSource(
    session,
    (id) => store.getSession(id),
    (id) => store.listTurns(id),
  )
  if (!held) return undefined
  return {
    agentSessionId: held.source.agentSessionId,
    ...(held.before !== undefined ? { before: held.before } : {}),
  }
}
