import { z } from 'zod'
import { item } from './items.js'
import { endReason, runEndStatus, usage } from './outcome.js'
import { approvalChange, approvalDecision, approvalKind, approvalPolicy, sessionState } from './policies.js'
import { turnInput } from './sessions.js'

/**
 * The normalized event model: one union keyed on `type`, shared by every layer.
 * Drivers produce these (without seq/at); the core stamps `seq` and `at` when it stores them.
 */

/** The run was accepted and waits for a free slot. */
export const runQueued = z.object({ type: z.literal('run.queued') })
/** The agent process started (its process group id is `pid`). */
export const runStarted = z.object({
  type: z.literal('run.started'),
  agent: z.string(),
  pid: z.number().int().optional(),
  /** The executable that was started (lets a restarted server recognise an orphaned process group). */
  command: z.string().optional(),
})
/** The agent announced its own session/thread id (what `resume` needs later). */
export const agentSession = z.object({
  type: z.literal('agent.session'),
  agent: z.string(),
  agentSessionId: z.string(),
})
/** The run ended; the outcome is data. */
export const runCompleted = z.object({
  type: z.literal('run.completed'),
  status: runEndStatus,
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  reason: endReason,
  finalResponse: z.string().nullable(),
  usage: usage.nullable(),
  /** With an outputSchema: the final response parsed as JSON and validated against it. */
  result: z.unknown().optional(),
  error: z.string().optional(),
})
/** The agent started working on a turn (one prompt). Sessions give the turn's id and its approval policy. */
export const turnStarted = z.object({
  type: z.literal('turn.started'),
  turnId: z.string().optional(),
  approvalPolicy: approvalPolicy
    .nullable()
    .optional()
    .describe(
      "Session turns: the approval policy the turn runs with, as its stored turn's `approvalPolicy` (the one it named, else its session's; null: the agent's default). Absent on runs' turns and on events stored before the gateway added it.",
    ),
})
/**
 * The agent finished a turn; `interrupted` when it was stopped before the end. `error`: why, when the gateway ended
 * it rather than its agent (its agent did not stop after an interrupt, the session was archived, the server
 * stopped): the stored turn's `error`.
 */
export const turnCompleted = z.object({
  type: z.literal('turn.completed'),
  turnId: z.string().optional(),
  status: z.enum(['completed', 'interrupted']).optional(),
  usage: usage.nullable(),
  error: z.string().optional(),
})
/**
 * A session's running turn was steered (POST /v1/sessions/:id/turns with `onBusy: steer`): `input` went to that turn
 * (`turnId`) while it ran. Stored, with the turn's `steered` record, before the input goes to the agent.
 */
export const turnSteered = z.object({
  type: z.literal('turn.steered'),
  turnId: z.string(),
  input: turnInput.describe(
    "The input added to the running turn, as the client sent it (redacted as every event is); the turn's `steered` keeps it too.",
  ),
})
/**
 * A steer recorded into `turnId` (its `turn.steered`, `steeredSeq`) that its agent then refused: the agent's turn
 * had ended while the input was on its way, or it accepted the input and completed the turn without taking it, or it
 * did not answer before the turn's end was stored (TurnQueue.settleSteers gave it up: a later answer is not taken).
 * Stored before that turn's `turn.completed`. The
 * input left that turn's `steered` and is the input of the new turn `queuedTurnId` instead, in the same step: it is
 * in the history once, never lost.
 */
export const turnSteerRefused = z.object({
  type: z.literal('turn.steer_refused'),
  turnId: z
    .string()
    .describe('The turn the steer was recorded into, whose `steered` no longer has its input.'),
  steeredSeq: z
    .number()
    .int()
    .positive()
    .describe('The `seq` of the `turn.steered` event this refusal undoes.'),
  queuedTurnId: z
    .string()
    .describe('The new turn whose `input` the refused input is now (queued after `turnId`).'),
})
/**
 * A steer recorded into `turnId` (its `turn.steered`, `steeredSeq`) whose sending to the agent failed for another
 * reason than its turn having ended: the agent's process died, it answered an error, or it did not answer in time;
 * or that the agent accepted and then dropped, its turn interrupted or failed before it took the input (the client
 * was answered as steered: this event is how it learns otherwise). The input left that turn's `steered` in the
 * same step: the history does not claim input the agent was not known to get, and the client may send it again
 * without it being there twice.
 */
export const turnSteerFailed = z.object({
  type: z.literal('turn.steer_failed'),
  turnId: z
    .string()
    .describe('The turn the steer was recorded into, whose `steered` no longer has its input.'),
  steeredSeq: z
    .number()
    .int()
    .positive()
    .describe('The `seq` of the `turn.steered` event this failure withdraws.'),
  error: z.string().describe('Why the steer did not reach the agent, in its own words.'),
})
/** The turn failed; `error` says why in the agent's words. */
export const turnFailed = z.object({
  type: z.literal('turn.failed'),
  turnId: z.string().optional(),
  error: z.string(),
})
/**
 * A session changed state (idle, running, waiting_for_approval, archived). `agentArchiveError`, with `archived`
 * only: the session's agent could not archive its own record of it (the agent's error); the gateway's is archived.
 */
export const sessionStatus = z.object({
  type: z.literal('session.status'),
  status: sessionState,
  agentArchiveError: z
    .string()
    .optional()
    .describe(
      "With `archived` only: the session's agent could not archive its own record of it (its thread), in the agent's words; the gateway's record is archived all the same (the session's `agentArchiveError`).",
    ),
})
/** An item began (for example a command started running). */
export const itemStarted = z.object({ type: z.literal('item.started'), item })
/** An item changed while in progress. */
export const itemUpdated = z.object({ type: z.literal('item.updated'), item })
/** An item reached its final state. */
export const itemCompleted = z.object({ type: z.literal('item.completed'), item })
/** A streamed fragment of an item's text, or of a command's output (its aggregatedOutput). */
export const itemDelta = z.object({ type: z.literal('item.delta'), itemId: z.string(), delta: z.string() })
/** The agent asks permission to run a command, change files or widen its permissions. */
export const approvalRequested = z.object({
  type: z.literal('approval.requested'),
  approvalId: z.string(),
  kind: approvalKind,
  command: z.string().optional(),
  cwd: z.string().optional(),
  changes: z.array(approvalChange).optional(),
  reason: z.string().optional(),
  options: z.array(approvalDecision),
})
/** An approval was answered (by a client, or by the timeout). */
export const approvalResolved = z.object({
  type: z.literal('approval.resolved'),
  approvalId: z.string(),
  decision: approvalDecision,
  by: z.string(),
})
/** Raw process output of a plain `cli` run. */
export const output = z.object({
  type: z.literal('output'),
  stream: z.enum(['stdout', 'stderr']),
  data: z.string(),
})
/** Anything an agent emitted that we do not map yet: kept, never dropped. */
export const agentRaw = z.object({ type: z.literal('agent.raw'), agent: z.string(), payload: z.unknown() })

export const agentEvent = z.discriminatedUnion('type', [
  runQueued,
  runStarted,
  agentSession,
  runCompleted,
  turnStarted,
  turnCompleted,
  turnSteered,
  turnSteerRefused,
  turnSteerFailed,
  turnFailed,
  sessionStatus,
  itemStarted,
  itemUpdated,
  itemCompleted,
  itemDelta,
  approvalRequested,
  approvalResolved,
  output,
  agentRaw,
])
export type AgentEvent = z.infer<typeof agentEvent>
export type AgentEventType = AgentEvent['type']
/** Every event type, in the union's order (the event reference and OpenAPI list them). */
export const agentEventTypes = agentEvent.options.map((o) => o.shape.type.value) as AgentEventType[]

export type RunQueuedEvent = z.infer<typeof runQueued>
export type RunStartedEvent = z.infer<typeof runStarted>
export type AgentSessionEvent = z.infer<typeof agentSession>
export type RunCompletedEvent = z.infer<typeof runCompleted>
export type TurnStartedEvent = z.infer<typeof turnStarted>
export type TurnCompletedEvent = z.infer<typeof turnCompleted>
export type TurnSteeredEvent = z.infer<typeof turnSteered>
export type TurnSteerRefusedEvent = z.infer<typeof turnSteerRefused>
export type TurnSteerFailedEvent = z.infer<typeof turnSteerFailed>
export type TurnFailedEvent = z.infer<typeof turnFailed>
export type SessionStatusEvent = z.infer<typeof sessionStatus>
export type ItemStartedEvent = z.infer<typeof itemStarted>
export type ItemUpdatedEvent = z.infer<typeof itemUpdated>
export type ItemCompletedEvent = z.infer<typeof itemCompleted>
export type ItemDeltaEvent = z.infer<typeof itemDelta>
export type ApprovalRequestedEvent = z.infer<typeof approvalRequested>
export type ApprovalResolvedEvent = z.infer<typeof approvalResolved>
export type OutputEvent = z.infer<typeof output>
export type AgentRawEvent = z.infer<typeof agentRaw>

/** Events that carry the agent's work; whoever tracks runs, turns and sessions passes them on unchanged. */
export type WorkEvent =
  | ItemStartedEvent
  | ItemUpdatedEvent
  | ItemCompletedEvent
  | ItemDeltaEvent
  | ApprovalRequestedEvent
  | ApprovalResolvedEvent
  | OutputEvent
  | AgentRawEvent
/** Events that start, end or change the state of a run, a turn or a session. */
export type LifecycleEvent = Exclude<AgentEvent, WorkEvent>

/** Whether an event is work (true) or lifecycle (false): a new event type must be sorted here first. */
export function isWorkEvent(ev: AgentEvent): ev is WorkEvent {
  switch (ev.type) {
    case 'item.started':
    case 'item.updated':
    case 'item.completed':
    case 'item.delta':
    case 'approval.requested':
    case 'approval.resolved':
    case 'output':
    case 'agent.raw':
      return true
    case 'run.queued':
    case 'run.started':
    case 'agent.session':
    case 'run.completed':
    case 'turn.started':
    case 'turn.completed':
    case 'turn.steered':
    case 'turn.steer_refused':
    case 'turn.steer_failed':
    case 'turn.failed':
    case 'session.status':
      return false
    default:
      return assertNever(ev, 'event type')
  }
}

/**
 * The default branch of every switch over `event.type`: a new event type makes each such switch fail to
 * compile until it is handled.
 */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unhandled ${what}: ${JSON.stringify(value)}`)
}

/** An event as stored and sent: stamped with its position and time. */
export const storedEventMeta = z.object({
  seq: z.number().int().positive(),
  at: z.string(),
  runId: z.string().optional(),
  sessionId: z.string().optional(),
})
export type StoredEvent = AgentEvent & z.infer<typeof storedEventMeta>
