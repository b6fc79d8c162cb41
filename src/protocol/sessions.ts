import { z } from 'zod'
import { budgetBase, limits } from './limits.js'
import { usage } from './outcome.js'
import {
  agentApprovalPolicy,
  approvalChange,
  approvalDecision,
  approvalKind,
  approvalPolicy,
  sandboxMode,
  sessionState,
} from './policies.js'
import { runRequestFields } from './runs.js'
import { webhookSpec } from './webhooks.js'

/** Sessions, turns and approvals: the durable resources of the /v1 session API. */
export const textInputItem = z.object({ type: z.literal('text'), text: z.string().min(1) })
/** The most images one turn's input may name (as a run's `images`). */
export const maxTurnImages = 16
export const localImageInputItem = z.object({
  type: z.literal('localImage'),
  path: z
    .string()
    .min(1)
    .describe(
      "An image file inside the workspace roots (relative paths are under the session's cwd; symlinks are resolved, none may lead out), as a run's `images` are: a PNG, JPEG, GIF or WebP image by its first bytes (whatever its name), of at most MAX_IMAGE_BYTES (5 MiB by default; 400 naming the item otherwise); the agent gets a private copy made as the turn starts (named by that type), removed once it ended. Only for an agent whose capabilities have `images` (GET /v1/agents: codex, copilot, the ACP presets acp:codex-acp, acp:claude-agent-acp, acp:gemini, acp:copilot, which get its bytes as an ACP image block), and for copilot with a text item too (it runs no turn without a prompt: 400); not with onBusy `steer`. Kept as the client gave it.",
    ),
})
export const imageUrlInputItem = z.object({
  type: z.literal('image'),
  url: z
    .string()
    .min(1)
    .describe(
      'An image inline, as a `data:image/...;base64,...` URL (its bytes a PNG, JPEG, GIF or WebP image of at most MAX_IMAGE_BYTES, 5 MiB by default: 400 otherwise), passed on as it is (a remote http(s) URL is a 400: nothing fetches it, and codex refuses one). Only for an agent that takes image URLs (codex, and the ACP presets: an ACP image block); another one with `images` takes `localImage` files alone (400). Not with onBusy `steer`.',
    ),
})
export const turnInputItem = z.discriminatedUnion('type', [
  textInputItem,
  localImageInputItem,
  imageUrlInputItem,
])
/** A turn's input as stored and shown (the request bodies check it further: at most maxTurnImages images). */
export const turnInput = z.array(turnInputItem).min(1)

/** The longest client-chosen session id (seed 004's `sessionId` on /agent/stream, `externalId` on /v1/sessions). */
export const externalIdMaxLength = 200

/** A control character (C0 or DEL): never part of a client-chosen session id (PostgreSQL text cannot hold NUL). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
export const controlCharacter = /[\u0000-\u001f\u007f]/

/**
 * A client-chosen session id, by seed 004's rule for `sessionId` (any text of 1 to 200 characters) without
 * control characters.
 */
export const externalId = z
  .string()
  .min(1)
  .max(externalIdMaxLength)
  .refine((v) => !controlCharacter.test(v), 'must not contain control characters')

export const session = z.object({
  id: z.string(),
  agent: z.string(),
  /** The agent's own id (codex thread id). */
  agentSessionId: z.string(),
  status: sessionState,
  cwd: z.string(),
  model: z.string().nullable(),
  sandbox: sandboxMode.nullable(),
  approvalPolicy: approvalPolicy.nullable(),
  /**
   * With no `approvalPolicy` of its own: the one the agent opened the session's thread with (codex), named again
   * whenever the thread is reopened in a new agent process, so a turn's own policy never outlives a restart.
   * Absent: the agent reported none (or the session was stored before it was kept).
   */
  agentApprovalPolicy: agentApprovalPolicy.optional(),
  allowedForSession: z
    .array(z.string())
    .optional()
    .describe(
      "What the session's `accept_for_session` answers allowed for its later turns, in the agent's own rule spelling (or the gateway's own, for an exact call the agent has no rule for), when the gateway keeps them (claude: Claude Code permission rules such as `Bash(npm test *)` or the exact command asked, given back as `--allowedTools`; acp:claude-agent-acp: the exact command asked, such as `Bash(npm test)`, given back as `allowedTools` when the session is loaded again, and the exact call of another tool as the gateway's own rule, `gateway:<tool> <input as JSON>` such as `gateway:WebSearch {\"query\":\"acp\"}`, matched by the gateway and not given to Claude Code). Kept with the session, so a gateway restart, an idle unload or another node's takeover does not ask them again; a fork starts without them (as a codex fork does). Redacted as events are: a rule holding a secret the gateway knows is kept as `[REDACTED]` (and asked again after a reopen). Absent: none, or the agent keeps them itself (codex, other ACP agents: in their own process, for as long as it holds the session).",
    ),
  forkedFrom: z.string().nullable(),
  forkedAtTurn: z
    .number()
    .int()
    .optional()
    .describe(
      "A fork's fork point in turns: how many of its parent's turns (`forkedFrom`; GET /v1/sessions/{forkedFrom}, in order) had ended when it was forked. Its history starts with them, then, when the parent was running a turn then (the next of its turns, started by `forkedAtSeq`), that turn up to `forkedAtSeq`: codex holds it as interrupted there, with what it had completed (a command still running held as aborted, without its output; a message still streaming not held); claude holds none of it (its `forkedAtSeq` is right before that turn's `turn.started`). Its own turns come after. Absent: not a fork, or forked before the gateway kept it.",
    ),
  forkedAtSeq: z
    .number()
    .int()
    .optional()
    .describe(
      "A fork's fork point in events: its parent's `lastSeq` when it was forked, moved to where the agent says it cut the parent's thread (codex: the parent's event of the last item, or turn end, its fork holds; an item codex completed in the instant before it forked is in the fork, and its event is stored a moment after the fork was asked for; claude: the event right before the start of the turn the parent was running, which its fork does not hold). The parent's events up to it (GET /v1/sessions/{forkedFrom}/events) are the fork's inherited history; its own event stream starts anew (seq 1). Absent: not a fork, or forked before the gateway kept it.",
    ),
  createdAt: z.string(),
  updatedAt: z.string(),
  turnCount: z
    .number()
    .int()
    .describe(
      "How many of the session's turns (GET /v1/sessions/{id}, in order) ran and ended, however they ended: completed, interrupted, or failed (its node died mid-turn). A turn that ended while still queued, before it went to the agent (an archive, a stop, its node's death), is listed but not counted. A fork's `forkedAtTurn` counts its parent's turns alike.",
    ),
  lastSeq: z.number().int(),
  /** An id the client chose for the session (seed 004's `sessionId` on /agent/stream); unique. */
  externalId: z.string().optional(),
  /** Where to POST this session's approval, turn and idle events (signed; see docs/OPERATIONS.md). */
  webhook: webhookSpec.nullable().optional(),
  /** Budget of this session; over it, the next turn waits for an approval to go on. */
  limits: limits.nullable().optional(),
  /** What the session had used when its budget was last granted again. */
  budgetBase: budgetBase.nullable().optional(),
  /** `container`: the session's agent runs in a container of `image` (one per session for codex). */
  isolation: runRequestFields.shape.isolation,
  image: z.string().optional(),
  /** The tenant of the token that created it (its forks inherit it); absent or null: none. */
  tenant: z.string().nullable().optional(),
  agentArchiveError: z
    .string()
    .optional()
    .describe(
      "Set when the session was archived while its agent's own record of it (its thread) could not be archived: the agent's error (it could not start, or its archive failed). The gateway's record is archived all the same; the agent may still list the thread as not archived.",
    ),
})
export type Session = z.infer<typeof session>

export const turnStatus = z.enum(['queued', 'running', 'completed', 'interrupted', 'failed'])
export const turn = z.object({
  id: z.string(),
  sessionId: z.string(),
  agentTurnId: z.string().nullable(),
  status: turnStatus,
  input: turnInput,
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  finalResponse: z.string().nullable(),
  usage: usage.nullable(),
  error: z.string().nullable(),
  approvalPolicy: approvalPolicy
    .nullable()
    .optional()
    .describe(
      "The approval policy the turn ran with: the one it named (POST /v1/sessions/:id/turns `approvalPolicy`, an /agent/stream frame's), else its session's; null: the agent's default (the session has none). Absent on turns stored before the gateway recorded it.",
    ),
  steered: z
    .array(turnInput)
    .optional()
    .describe(
      "The inputs added to this turn while it ran (`onBusy: steer`), in the order the gateway accepted them, each as its `turn.steered` event says (redacted as events are). A steer the agent refused because this turn had ended meanwhile, or accepted and ended this turn without taking, is not here: its input is the next turn's (`turn.steer_refused`), or in no turn when this turn was interrupted or failed (`turn.steer_failed`). Absent: none.",
    ),
})
export type Turn = z.infer<typeof turn>

export const approval = z.object({
  id: z.string(),
  sessionId: z.string(),
  turnId: z.string().nullable(),
  kind: approvalKind,
  command: z.string().nullable(),
  cwd: z.string().nullable(),
  changes: z.array(approvalChange).nullable(),
  reason: z.string().nullable(),
  options: z.array(approvalDecision),
  state: z.enum(['pending', 'resolved']),
  decision: approvalDecision.nullable(),
  /** Who answered: the deciding API token's name (`client` without API_TOKENS), `timeout`, `turn_ended`, `session_archived`, `server_restart`. */
  by: z.string().nullable(),
  createdAt: z.string(),
  resolvedAt: z.string().nullable(),
  expiresAt: z.string(),
})
export type Approval = z.infer<typeof approval>
