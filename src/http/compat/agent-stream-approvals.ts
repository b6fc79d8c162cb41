import { createHash } from 'node:crypto'
import type { ApprovalBroker } from '../../core/approvals.js'
import { AppError } from '../../protocol/errors.js'
import type { Approval } from '../../protocol/sessions.js'
import type { ApproveFrame, ServerFrameBody, StreamApprovalPolicy } from './agent-stream-frames.js'

/** `<sessionId>-cmd-<uuid>`, the uuid derived from the approval id (stable across reconnects). */
export function commandIdOf(clientSessionId: string | undefined, approvalId: string): string {
  const h = createHash('sha256').update(approvalId).digest('hex')
  const uuid = `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
  return `${clientSessionId}-cmd-${uuid}`
}

/** A pending approval as seed 004's `command_prompt` frame. */
export function commandPrompt(approval: Approval, commandId: string): ServerFrameBody {
  const changes = approval.changes ?? []
  return {
    type: 'command_prompt',
    commandId,
    command: approval.command ? [approval.command] : changes.length ? ['apply_patch'] : [],
    ...(changes.length
      ? { applyPatch: { patch: changes.map((c) => `*** ${c.kind} File: ${c.path}`).join('\n') } }
      : {}),
    ...(approval.reason ? { explanation: approval.reason } : {}),
  }
}

/**
 * The approvals of one stream's session, through the ApprovalBroker (so /v1/approvals sees and may answer them
 * too; the first answer wins): each pending one prompted once per connection, `approve` frames matched to
 * theirs by commandId.
 */
export class StreamApprovals {
  private readonly prompted = new Set<string>()

  constructor(
    private readonly approvals: ApprovalBroker,
    private readonly send: (body: ServerFrameBody) => Promise<void>,
    /** The commandId the client knows an approval by. */
    private readonly commandId: (approvalId: string) => string,
  ) {}

  /** Approvals still waiting from an earlier stream are asked again. */
  async promptPending(sessionId: string, policy: StreamApprovalPolicy): Promise<void> {
    for (const a of await this.approvals.list('pending', sessionId)) await this.prompt(a, policy)
  }

  /** The approval an `approval.requested` event names, prompted. */
  async promptRequested(approvalId: string, policy: StreamApprovalPolicy): Promise<void> {
    const approval = await this.approvals.get(approvalId)
    if (approval) await this.prompt(approval, policy)
  }

  /** A pending approval as a `command_prompt` (once per connection); auto-edit accepts file changes itself. */
  private async prompt(approval: Approval, policy: StreamApprovalPolicy): Promise<void> {
    if (approval.state !== 'pending' || this.prompted.has(approval.id)) return
    this.prompted.add(approval.id)
    if (policy === 'auto-edit' && approval.kind === 'file_change') {
      await this.approvals.answer(approval.id, 'accept', 'policy:auto-edit').catch(() => {})
      return
    }
    await this.send(commandPrompt(approval, this.commandId(approval.id)))
  }

  /** Answers the approval an `approve` frame names by its commandId; 404 when the session has none such. */
  async answer(sessionId: string, f: ApproveFrame): Promise<void> {
    const all = await this.approvals.list(undefined, sessionId)
    const approval = all.find((a) => this.commandId(a.id) === f.commandId)
    if (!approval) throw new AppError('not_found', `Unknown commandId ${f.commandId}.`)
    await this.approvals.answer(approval.id, f.decision === 'allow' ? 'accept' : 'decline', 'agent-stream')
  }
}
