import type { AgentRegistry } from '../agents/registry.js'
import {
  type ApprovalPolicy,
  isSessionDriver,
  type SessionDriver,
  type SessionRequest,
} from '../agents/session.js'
import type { Config } from '../config/load.js'
import { AppError } from '../protocol/errors.js'
import type { AgentEvent } from '../protocol/events.js'
import type { Limits } from '../protocol/limits.js'
import { resolveModel } from '../protocol/models.js'
import type { AgentApprovalPolicy, SandboxMode } from '../protocol/policies.js'
import type { Session, Turn } from '../protocol/sessions.js'
import type { WebhookSpec } from '../protocol/webhooks.js'
import { checkContainerCwd, containerPlacement } from './runners.js'
import { checkSandbox } from './sandbox-policy.js'
import { sessionImageDir } from './session-image-dirs.js'
import { resolveCwd } from './workspace.js'

/**
 * What a session asks of its agent: the fields a client creates it with, checked and turned into the
 * driver's SessionRequest (new sessions), or read back from the stored session (reopened ones).
 */
export interface CreateSession {
  cwd?: string
  model?: string
  sandbox?: SandboxMode
  approvalPolicy?: ApprovalPolicy
  /** A client-chosen id, unique (seed 004's `sessionId`); `byExternalId` finds the session again. */
  externalId?: string
  webhook?: WebhookSpec
  limits?: Limits
  /** `container`: the agent runs in a container (of `image`, default CONTAINER_IMAGE) for the session's life. */
  isolation?: 'process' | 'container'
  image?: string
}

/** The agent behind a session: one with sessions (400 otherwise). */
export function sessionDriverOf(registry: AgentRegistry, agentId: string): SessionDriver {
  const driver = registry.get(agentId)
  if (!isSessionDriver(driver))
    throw new AppError(
      'invalid_request',
      `agent ${driver.id} has no sessions; use POST /v1/runs for one-shot runs`,
    )
  return driver
}

/** A new session's request: sandbox allowed, cwd confined, placement resolved (throws before anything starts). */
export function newSessionRequest(config: Config, fields: CreateSession, id: string): SessionRequest {
  checkSandbox(fields.sandbox, config)
  const placement = containerPlacement(fields, config)
  const cwd = resolveCwd(fields.cwd, config.workspaceRoots)
  checkContainerCwd(placement, cwd, config)
  return {
    ...(placement
      ? { ...placement, labels: { session: id }, imageDir: sessionImageDir(config.DATA_DIR, id) }
      : {}),
    cwd,
    // Without a model each driver applies its own default (CODEX_MODEL, CLAUDE_MODEL, ...).
    ...(resolveModel(fields.model) ? { model: fields.model } : {}),
    ...(fields.sandbox ? { sandbox: fields.sandbox } : {}),
    ...(fields.approvalPolicy ? { approvalPolicy: fields.approvalPolicy } : {}),
  }
}

/**
 * A stored session's request, to reopen it on its agent (with `dataDir`: a container session's image directory
 * is made there, session-image-dirs.ts).
 */
export function sessionRequestOf(s: Session, dataDir?: string): SessionRequest {
  return {
    ...(s.isolation === 'container'
      ? {
          isolation: 'container' as const,
          ...(s.image ? { image: s.image } : {}),
          labels: { session: s.id },
          ...(dataDir ? { imageDir: sessionImageDir(dataDir, s.id) } : {}),
        }
      : {}),
    cwd: s.cwd,
    ...(s.model ? { model: s.model } : {}),
    ...(s.sandbox ? { sandbox: s.sandbox } : {}),
    ...(s.approvalPolicy
      ? { approvalPolicy: s.approvalPolicy }
      : s.agentApprovalPolicy
        ? { agentApprovalPolicy: s.agentApprovalPolicy }
        : {}),
    ...(s.allowedForSession?.length ? { allowedForSession: s.allowedForSession } : {}),
  }
}

/**
 * Turn events carry the gateway's turn id (the agent's own is kept on the turn as `agentTurnId`); its
 * `turn.started` carries the approval policy the turn runs with too (the turn's own: null, the agent's default),
 * so a stream reader sees it without reading the session.
 */
export function withTurnId(ev: AgentEvent, turn: Turn): AgentEvent {
  if (ev.type === 'turn.started')
    return { ...ev, turnId: turn.id, approvalPolicy: turn.approvalPolicy ?? null }
  if (ev.type === 'turn.completed' || ev.type === 'turn.failed') return { ...ev, turnId: turn.id }
  return ev
}

/** Where a fork left its parent: the parent, its ended turns and its last event seq then (Session fields). */
export interface ForkPoint {
  forkedFrom: string
  forkedAtTurn: number
  forkedAtSeq: number
}

/** A new session as stored: idle, no turns yet, with the request's settings. */
export function sessionRecord(fields: {
  id: string
  agentId: string
  agentSessionId: string
  req: SessionRequest
  /** A fork's parent and fork point; undefined for a new session. */
  fork?: ForkPoint | undefined
  externalId?: string | undefined
  /** The policy the agent reported it opened the session with (AgentSession.agentApprovalPolicy). */
  agentApprovalPolicy?: AgentApprovalPolicy | undefined
  /** Where its events are delivered (a new session's own; a fork has none). */
  webhook?: WebhookSpec | undefined
  /** Its limits in effect (effectiveLimits; a fork has none of its own). */
  limits?: Limits | undefined
}): Session {
  const { req } = fields
  // kept only for a session without a policy of its own: it is what its turns that name none run with
  const agentPolicy = req.approvalPolicy ? undefined : (fields.agentApprovalPolicy ?? req.agentApprovalPolicy)
  const now = new Date().toISOString()
  return {
    id: fields.id,
    agent: fields.agentId,
    agentSessionId: fields.agentSessionId,
    status: 'idle',
    cwd: req.cwd,
    model: req.model ?? null,
    sandbox: req.sandbox ?? null,
    approvalPolicy: req.approvalPolicy ?? null,
    ...(agentPolicy ? { agentApprovalPolicy: agentPolicy } : {}),
    ...(req.isolation === 'container'
      ? { isolation: 'container' as const, ...(req.image ? { image: req.image } : {}) }
      : {}),
    forkedFrom: fields.fork?.forkedFrom ?? null,
    ...(fields.fork ? { forkedAtTurn: fields.fork.forkedAtTurn, forkedAtSeq: fields.fork.forkedAtSeq } : {}),
    createdAt: now,
    updatedAt: now,
    turnCount: 0,
    lastSeq: 0,
    ...(fields.externalId ? { externalId: fields.externalId } : {}),
    ...(fields.webhook ? { webhook: fields.webhook } : {}),
    ...(fields.limits ? { limits: fields.limits } : {}),
  }
}
