import { z } from 'zod'

/**
 * The parts of codex app-server messages the session driver reads, as zod schemas (loose: codex adds fields
 * often). Everything inbound is parsed with safeParse against these; nothing is cast.
 */

/** Any message about a thread (v2 `threadId`). */
export const threadRef = z.looseObject({ threadId: z.string() })
/** Legacy (v1) requests name the thread `conversationId`. */
export const conversationRef = z.looseObject({ conversationId: z.string() })
/** Any message about a turn. */
export const turnRef = z.looseObject({ threadId: z.string(), turnId: z.string() })

export const turnNotification = z.looseObject({
  threadId: z.string(),
  turn: z.looseObject({
    id: z.string(),
    status: z.string(),
    error: z.looseObject({ message: z.string() }).nullish(),
  }),
})

export const itemNotification = z.looseObject({
  threadId: z.string(),
  turnId: z.string(),
  item: z.looseObject({ type: z.string(), id: z.string() }),
})

export const deltaNotification = z.looseObject({
  threadId: z.string(),
  turnId: z.string(),
  itemId: z.string(),
  delta: z.string(),
})

export const statusChanged = z.looseObject({
  threadId: z.string(),
  status: z.looseObject({ type: z.string(), activeFlags: z.array(z.string()).optional() }),
})

const tokenBreakdown = z.looseObject({
  inputTokens: z.number(),
  cachedInputTokens: z.number(),
  outputTokens: z.number(),
  reasoningOutputTokens: z.number(),
})
export type TokenBreakdown = z.infer<typeof tokenBreakdown>

export const tokenUsageUpdated = z.looseObject({
  threadId: z.string(),
  turnId: z.string(),
  tokenUsage: z.looseObject({ total: tokenBreakdown, last: tokenBreakdown }),
})

export const errorNotification = z.looseObject({
  threadId: z.string(),
  turnId: z.string(),
  error: z.looseObject({ message: z.string() }),
  willRetry: z.boolean().optional(),
})

export const planUpdated = z.looseObject({
  threadId: z.string(),
  turnId: z.string(),
  plan: z.array(z.looseObject({ step: z.string(), status: z.string() })),
})

export const serverRequestResolved = z.looseObject({
  threadId: z.string(),
  requestId: z.union([z.string(), z.number()]),
})

/** codex's AskForApproval: a named policy, or a granular one (kept as codex sent it). */
export const askForApproval = z.union([
  z.enum(['untrusted', 'on-request', 'never']),
  z.looseObject({
    granular: z.looseObject({
      sandbox_approval: z.boolean(),
      rules: z.boolean(),
      skill_approval: z.boolean(),
      request_permissions: z.boolean(),
      mcp_elicitations: z.boolean(),
    }),
  }),
])

/**
 * `thread/start`, `thread/resume`, `thread/fork` answer with the thread, the model it runs and the approval
 * policy it runs with (one codex does not name is left out, not a failed open).
 */
export const threadResponse = z.looseObject({
  // `path`: the thread's rollout file (escalated-calls.ts reads the model's calls there after a resume)
  thread: z.looseObject({ id: z.string(), path: z.string().nullish().catch(undefined) }),
  model: z.string().optional(),
  approvalPolicy: askForApproval.optional().catch(undefined),
})

/**
 * `thread/turns/list`: a page of a thread's turns (with `itemsView: 'full'`, their items). A turn ended when it
 * has a `completedAt` (a running turn a fork holds is `interrupted` with none); an item with a `status` is held
 * complete unless it is `inProgress`.
 */
export const turnsListResponse = z.looseObject({
  data: z.array(
    z.looseObject({
      id: z.string(),
      completedAt: z.number().nullish(),
      items: z.array(z.looseObject({ id: z.string(), status: z.unknown().optional() })),
    }),
  ),
})

export const turnStartResponse = z.looseObject({ turn: z.looseObject({ id: z.string() }) })

export const modelListResponse = z.looseObject({
  data: z.array(z.looseObject({ id: z.string() })),
  nextCursor: z.string().nullish(),
})
