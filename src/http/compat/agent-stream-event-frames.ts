import type { StoredEvent } from '../../protocol/events.js'
import { type ServerFrameBody, streamStatus } from './agent-stream-frames.js'
import { responseItems } from './agent-stream-items.js'

/** What the connection knows that shapes the frames: whether the client cancelled, and its commandIds. */
export interface EventFrameContext {
  /** The client sent `cancel`: the turn's interruption is its abort. */
  cancelling: boolean
  /** The commandId the client knows an approval by. */
  commandId(approvalId: string): string
}

/**
 * The frames a session's stored event becomes on a stream (none for most events); `approval.requested`
 * becomes a `command_prompt` through StreamApprovals instead.
 */
export function eventFrames(ev: StoredEvent, ctx: EventFrameContext): ServerFrameBody[] {
  switch (ev.type) {
    case 'turn.started':
      return [{ type: 'status', message: streamStatus.thinking }]
    case 'item.completed':
      return responseItems(ev.item).map((responseItem) => ({ type: 'item', responseItem }))
    case 'approval.resolved':
      if (ev.by !== 'timeout') return []
      return [
        {
          type: 'error',
          code: 'APPROVAL_TIMEOUT',
          message: `No answer for ${ctx.commandId(ev.approvalId)}: the command was denied.`,
          retryable: false,
        },
      ]
    case 'turn.completed':
      if (ev.status === 'interrupted')
        return [
          {
            type: 'status',
            message: ctx.cancelling ? streamStatus.aborted : 'Agent run interrupted.',
            // the gateway ended it (its agent did not stop): why, in the status frame's own `details`
            ...(ev.error ? { details: { error: ev.error } } : {}),
          },
        ]
      return [
        { type: 'status', message: streamStatus.idle },
        { type: 'status', message: streamStatus.completed },
      ]
    // input added to the running turn (a deny's explanation, or another client's steer) that went into no turn
    case 'turn.steer_failed':
      return [
        {
          type: 'error',
          code: 'INPUT_NOT_DELIVERED',
          message: `Input for the running turn did not reach the agent: ${ev.error}`,
          retryable: true,
        },
      ]
    case 'turn.failed':
      return [
        { type: 'error', code: 'AGENT_ERROR', message: `Agent run failed: ${ev.error}`, retryable: true },
      ]
    default:
      return []
  }
}
