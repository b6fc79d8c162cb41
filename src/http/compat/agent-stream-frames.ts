import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import { AppError } from '../../protocol/errors.js'
import { controlCharacter, externalId, externalIdMaxLength } from '../../protocol/sessions.js'

/**
 * Seed 004's frame protocol (`@openai/codex-api`, POST /agent/stream): what its clients send and receive.
 * Every frame may carry `id` (a UUID). Extra fields on `configOverrides` (`agent`, `cwd`) are the gateway's.
 */

const frameId = z.string().optional()

/** The policies of the original codex-cli; the gateway maps them onto sandbox + approvals (docs/agent-stream.md). */
export const streamApprovalPolicy = z.enum(['suggest', 'auto-edit', 'full-auto'])
export type StreamApprovalPolicy = z.infer<typeof streamApprovalPolicy>

export const userMessageFrame = z.object({
  type: z.literal('user_message'),
  id: frameId,
  // "" is no id: the original answered it SESSION_ID_REQUIRED (`!userMessage.sessionId`), not a decoding error
  sessionId: z.preprocess((v) => (v === '' ? undefined : v), externalId.optional()),
  content: z.string(),
  imagePaths: z.array(z.string()).optional(),
  configOverrides: z
    .object({
      model: z.string().optional(),
      approvalPolicy: streamApprovalPolicy.optional(),
      /** Gateway extension: any session-capable agent (default `codex`). */
      agent: z.string().optional(),
      /** Gateway extension: the working directory, inside a workspace root. */
      cwd: z.string().optional(),
    })
    .optional(),
})

export const approveFrame = z.object({
  type: z.literal('approve'),
  id: frameId,
  sessionId: z.string(),
  commandId: z.string(),
  decision: z.enum(['allow', 'deny']),
  explanation: z.string().optional(),
})

export const cancelFrame = z.object({ type: z.literal('cancel'), id: frameId, sessionId: z.string() })

export const clientFrame = z.discriminatedUnion('type', [userMessageFrame, approveFrame, cancelFrame])
export type ClientFrame = z.infer<typeof clientFrame>
export type UserMessageFrame = z.infer<typeof userMessageFrame>
export type ApproveFrame = z.infer<typeof approveFrame>

/** The fields of the plain `user_message` a client sends for each turn. */
const plainMessageKeys = new Set(['type', 'id', 'sessionId', 'content'])

/**
 * A decoded frame checked against `clientFrame`. The frame a client sends for every turn, a `user_message` with
 * no other fields than `type`, `id`, `sessionId` and `content`, is checked here by hand: zod's parse runs cold
 * once per turn, ~20-40 µs on the turn's path before `turn/start`, against ~2-4 µs. Every other value (more
 * fields, a wrong type or length) goes to zod, so what is accepted and how a frame is refused stay zod's
 * (test/unit/agent-stream-frames.test.ts checks the two agree).
 */
export function parseClientFrame(value: unknown): ReturnType<typeof clientFrame.safeParse> {
  const plain = plainUserMessage(value)
  return plain ? { success: true, data: plain } : clientFrame.safeParse(value)
}

function plainUserMessage(value: unknown): UserMessageFrame | undefined {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype)
    return undefined
  const v = value as Record<string, unknown>
  if (v.type !== 'user_message' || typeof v.content !== 'string') return undefined
  for (const key of Object.keys(v)) if (!plainMessageKeys.has(key)) return undefined
  const { id } = v
  const sessionId = v.sessionId === '' ? undefined : v.sessionId
  if (id !== undefined && typeof id !== 'string') return undefined
  if (
    sessionId !== undefined &&
    (typeof sessionId !== 'string' ||
      sessionId.length < 1 ||
      sessionId.length > externalIdMaxLength ||
      controlCharacter.test(sessionId))
  )
    return undefined
  return {
    type: 'user_message',
    ...(id !== undefined ? { id } : {}),
    ...(sessionId !== undefined ? { sessionId } : {}),
    content: v.content,
  }
}

/** Server-to-client frames (the gateway always sets `id` to a fresh UUID: defect 2 of the original). */
export type ServerFrame =
  | { type: 'item'; id: string; responseItem: Record<string, unknown> }
  | {
      type: 'command_prompt'
      id: string
      commandId: string
      command: string[]
      applyPatch?: { patch: string }
      explanation?: string
    }
  | { type: 'status'; id: string; message: string; details?: Record<string, unknown> }
  | {
      type: 'error'
      id: string
      message: string
      code?: string
      retryable?: boolean
      details?: Record<string, unknown>
    }
  | { type: 'heartbeat'; id: string; timestamp: string }
  | { type: 'terminate'; id: string; reason: string; details?: Record<string, unknown> }

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never
export type ServerFrameBody = WithoutId<ServerFrame>

export const frame = (body: ServerFrameBody): ServerFrame => ({ id: randomUUID(), ...body }) as ServerFrame

/** The original's error codes and messages. */
export const streamErrors = {
  sessionIdRequired: {
    code: 'SESSION_ID_REQUIRED',
    message: 'Session ID must be provided by the backend service in the first user_message frame.',
  },
  notInitialized: {
    code: 'SESSION_NOT_INIT',
    message: 'Session not initialized. Send user_message first with sessionId.',
  },
  mismatch: (kind: 'approve' | 'cancel') => ({
    code: 'SESSION_ID_MISMATCH',
    message: `Session ID mismatch in ${kind} frame.`,
  }),
  /** Not the original's: a gateway token's scopes (API_TOKENS), as `POST /v1/approvals/:id` checks them. */
  approveScope: (token: string) => ({
    code: 'FORBIDDEN',
    message: `token "${token}" lacks the "approve" scope an approve frame needs; the approval stays pending`,
  }),
} as const

/**
 * Not the original's: input added to the running turn (a deny's explanation) that went into no turn, and no stored
 * `turn.steer_failed` says so (agent-stream-event-frames.ts makes that event the same frame). Retryable unless the
 * gateway refused it for good (a 4xx other than 429: the session archived).
 */
export function inputNotDelivered(err: unknown): ServerFrameBody {
  const status = err instanceof AppError ? err.status : 500
  return {
    type: 'error',
    code: 'INPUT_NOT_DELIVERED',
    message: `Input for the running turn did not reach the agent: ${err instanceof Error ? err.message : String(err)}`,
    retryable: status >= 500 || status === 429,
  }
}

/** The original's status strings. */
export const streamStatus = {
  initialized: (sessionId: string) => `Session ${sessionId} initialized.`,
  processing: 'Agent processing... ',
  thinking: 'Agent thinking...',
  idle: 'Agent idle...',
  completed: 'Agent run completed.',
  cancelled: 'Agent run cancelled by client.',
  aborted: 'Agent run successfully aborted.',
  terminated: 'Stream ended from server side.',
} as const
