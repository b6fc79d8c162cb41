import type { AgentRegistry } from '../agents/registry.js'
import type { AgentSession, SessionHooks, SessionRequest } from '../agents/session.js'
import type { Config } from '../config/load.js'
import { AppError, orNotFound } from '../protocol/errors.js'
import type { StoredEvent } from '../protocol/events.js'
import type { Limits } from '../protocol/limits.js'
import type { Session } from '../protocol/sessions.js'
import type { WebhookSpec } from '../protocol/webhooks.js'
import type { Store } from '../store/store.js'
import { checkApprovalPolicy } from './approval-policy.js'
import type { EventLog } from './event-log.js'
import { forkPointOf } from './fork-point.js'
import { holdsHistory } from './held-history.js'
import { newId } from './ids.js'
import type { LiveSessions } from './live-sessions.js'
import { ensureReady } from './one-shot.js'
import { effectiveLimits } from './ops/budget.js'
import { checkTurnSandbox } from './sandbox-policy.js'
import {
  type CreateSession,
  type ForkPoint,
  newSessionRequest,
  sessionDriverOf,
  sessionRecord,
  sessionRequestOf,
} from './session-request.js'

export interface SessionCreationContext {
  store: Store
  log: EventLog
  registry: AgentRegistry
  config: Config
  /** The node (this gateway process) that owns the sessions it opens. */
  node: string
  live: LiveSessions
  hooks(sessionId: string): SessionHooks
}

/**
 * A new session: opened in its agent, stored (owned by this node), held live and announced idle. `id`: chosen
 * before (an Idempotency-Key held for it: request-keys.ts); default a new one.
 */
export async function createSession(
  ctx: SessionCreationContext,
  agentId: string,
  fields: CreateSession,
  id = newId('ses'),
): Promise<Session> {
  const driver = sessionDriverOf(ctx.registry, agentId)
  checkApprovalPolicy(driver, fields.approvalPolicy, ctx.registry)
  const req = newSessionRequest(ctx.config, fields, id)
  const limits = effectiveLimits(fields.limits, ctx.config)
  await ensureReady(driver)
  const agent = await driver.openSession(req, ctx.hooks(id))
  // its webhook and limits are part of the row it is created with: a store that refuses the creation keeps nothing
  // (before, they were a second write, and a refusal of that one alone left the session listed without them)
  return record(ctx, id, driver.id, agent, req, undefined, {
    externalId: fields.externalId,
    webhook: fields.webhook,
    limits,
  })
}

/** A new session that continues a copy of `parent`'s thread (the agent's own fork). */
export async function forkSession(ctx: SessionCreationContext, parent: Session): Promise<Session> {
  // An agent keeps no thread on disk before its first turn, so there is nothing to copy yet; a fork holds its
  // parent's history from the start (codex has written its rollout), so a fork of it before its own first turn is one
  if (!(await holdsHistory(parent, (id) => ctx.store.getSession(id))))
    throw new AppError(
      'conflict',
      `session ${parent.id} has no turns yet; start a turn (POST /v1/sessions/${parent.id}/turns), then fork it`,
    )
  // a fork is a new session with its parent's sandbox: creation's rule for danger-full-access holds for it (and a
  // fork held here runs its turns without another check: SessionManager.heldForTurn)
  checkTurnSandbox(parent.id, parent.sandbox, ctx.config)
  const live = await ctx.live.ensure(parent)
  const forkId = newId('ses')
  // the fork point: what the parent had stored right before the agent copied the thread, moved to where the
  // agent says it cut the thread when the parent may have moved meanwhile (an item completed in between is in the
  // fork; fork-point.ts)
  const busy = live.current !== undefined
  const at = (await ctx.store.getSession(parent.id)) ?? parent
  const agent = await live.agent.fork(ctx.hooks(forkId))
  const point = await forkPointOf(ctx, parent.id, at, agent, () => busy || live.current !== undefined).catch(
    () => ({ forkedAtTurn: at.turnCount, forkedAtSeq: at.lastSeq }),
  )
  return record(ctx, forkId, parent.agent, agent, sessionRequestOf(parent), {
    forkedFrom: parent.id,
    ...point,
  })
}

/**
 * Stores a session its agent just opened with its first `session.status` (all or nothing), then announces it; the
 * agent is closed when the store refuses it.
 */
async function record(
  ctx: SessionCreationContext,
  id: string,
  agentId: string,
  agent: AgentSession,
  req: SessionRequest,
  /** A fork's parent and fork point (ForkPoint); undefined for a new session. */
  fork: ForkPoint | undefined,
  /** A new session's own fields (a fork has none of its own): its client's id, webhook and limits in effect. */
  own: {
    externalId?: string | undefined
    webhook?: WebhookSpec | undefined
    limits?: Limits | undefined
  } = {},
): Promise<Session> {
  const session = sessionRecord({
    id,
    agentId,
    agentSessionId: agent.agentSessionId,
    req,
    fork,
    ...own,
    agentApprovalPolicy: agent.agentApprovalPolicy,
  })
  // the session (its webhook and limits with it) and its first event in one write: a write the store refuses (a
  // full disk) leaves neither
  const at = new Date().toISOString()
  const first = [{ ownerId: id, event: ctx.log.redact({ type: 'session.status', status: 'idle' }), at }]
  let events: StoredEvent[]
  try {
    events = await ctx.store.createSession(session, ctx.node, first)
  } catch (err) {
    await agent.close().catch(() => {})
    throw err
  }
  ctx.live.add(id, agent, session, Boolean(own.limits))
  // announced in the log's order (nothing of a new session is queued before it); stored already, so this only
  // hands them on (stored through ctx.store, not the log's transaction: a tenant's view stamps the session)
  await ctx.log.commitWith(id, async () => ({ events }))
  return orNotFound(ctx.store.getSession(id), `session ${id}`)
}
