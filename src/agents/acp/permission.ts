import type { PermissionOption, RequestPermissionResponse } from '@agentclientprotocol/sdk'
import type { ApprovalAsk, ApprovalDecision } from '../session.js'
import { type ToolCallState, toolItem } from './tool-items.js'

/**
 * ACP `session/request_permission` <-> the gateway's approvals. Options map by kind: allow_once -> accept,
 * allow_always -> accept_for_session, reject_once / reject_always -> decline; `cancel` is always offered
 * and answers with the `cancelled` outcome. A decision is answered with the optionId of its kind.
 */
const decisionOf: Record<PermissionOption['kind'], ApprovalDecision> = {
  allow_once: 'accept',
  allow_always: 'accept_for_session',
  reject_once: 'decline',
  reject_always: 'decline',
}

/** The option kinds that answer a decision, in order of preference. */
const kindsOf: Record<ApprovalDecision, PermissionOption['kind'][]> = {
  accept: ['allow_once', 'allow_always'],
  accept_for_session: ['allow_always'],
  decline: ['reject_once', 'reject_always'],
  cancel: [],
}

export function permissionOptions(options: PermissionOption[]): ApprovalDecision[] {
  const offered = new Set(options.map((o) => decisionOf[o.kind]))
  const order: ApprovalDecision[] = ['accept', 'accept_for_session', 'decline']
  return [...order.filter((d) => offered.has(d)), 'cancel']
}

/** The answer to send for `decision`: the matching option, or `cancelled` when none matches. */
export function permissionAnswer(
  decision: ApprovalDecision,
  options: PermissionOption[],
): RequestPermissionResponse {
  for (const kind of kindsOf[decision]) {
    const option = options.find((o) => o.kind === kind)
    if (option) return { outcome: { outcome: 'selected', optionId: option.optionId } }
  }
  return { outcome: { outcome: 'cancelled' } }
}

/** What the hook is asked: a command (kind execute), a file change (edit/delete), else a permission. */
export function permissionAsk(
  tool: ToolCallState,
  options: PermissionOption[],
  sessionCwd: string,
  turnId?: string,
): ApprovalAsk {
  const item = toolItem(tool)
  const rawCwd = (tool.rawInput as { cwd?: unknown } | undefined)?.cwd
  const base = {
    cwd: typeof rawCwd === 'string' ? rawCwd : sessionCwd,
    options: permissionOptions(options),
    itemId: tool.id,
    ...(tool.title ? { reason: tool.title } : {}),
    ...(tool.rawInput !== undefined ? { input: tool.rawInput } : {}),
    ...(tool.toolName ? { tool: tool.toolName } : {}),
    ...(turnId ? { turnId } : {}),
  }
  if (item.type === 'command_execution') return { kind: 'command', command: item.command, ...base }
  if (item.type === 'file_change') return { kind: 'file_change', changes: item.changes, ...base }
  return { kind: 'permission', ...base }
}
