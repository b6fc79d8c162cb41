import { z } from 'zod'
import type { Item } from '../../protocol/items.js'
import type { ApprovalAsk, ApprovalDecision } from '../session.js'
import { changeDiff } from './change-diff.js'

/**
 * codex app-server approval requests (server -> client) -> the gateway's ApprovalAsk, and our decision back
 * to the answer each request kind expects: v2 `item/commandExecution/requestApproval`,
 * `item/fileChange/requestApproval`, `item/permissions/requestApproval`, and the legacy `execCommandApproval`,
 * `applyPatchApproval`. Params are parsed with zod; a request that does not parse gives null.
 */

export interface ParsedApproval {
  threadId: string
  ask: ApprovalAsk
  /** The JSON-RPC result that carries `decision` to codex. */
  answer(decision: ApprovalDecision): unknown
}

export const approvalMethods = new Set([
  'item/commandExecution/requestApproval',
  'item/fileChange/requestApproval',
  'item/permissions/requestApproval',
  'execCommandApproval',
  'applyPatchApproval',
])

const allDecisions: ApprovalDecision[] = ['accept', 'accept_for_session', 'decline', 'cancel']
/** v2 decision names (command and file-change approvals). */
const v2Names: Record<ApprovalDecision, string> = {
  accept: 'accept',
  accept_for_session: 'acceptForSession',
  decline: 'decline',
  cancel: 'cancel',
}
/** Legacy `ReviewDecision`s. */
const legacyDecisions: Record<ApprovalDecision, unknown> = {
  accept: 'approved',
  accept_for_session: 'approved_for_session',
  decline: { denied: { rejection: 'declined through agent-gateway' } },
  cancel: 'abort',
}

const optionalText = z.string().nullish()
const commandParams = z.looseObject({
  threadId: z.string(),
  turnId: z.string(),
  itemId: z.string(),
  reason: optionalText,
  command: optionalText,
  cwd: optionalText,
  availableDecisions: z.array(z.unknown()).nullish(),
})
const fileChangeParams = z.looseObject({
  threadId: z.string(),
  turnId: z.string(),
  itemId: z.string(),
  reason: optionalText,
  grantRoot: optionalText,
})
const permissionsParams = z.looseObject({
  threadId: z.string(),
  turnId: z.string(),
  itemId: z.string(),
  cwd: optionalText,
  reason: optionalText,
  permissions: z.looseObject({ network: z.unknown(), fileSystem: z.unknown() }),
})
const legacyExecParams = z.looseObject({
  conversationId: z.string(),
  callId: z.string(),
  command: z.array(z.string()),
  cwd: optionalText,
  reason: optionalText,
})
const legacyPatchParams = z.looseObject({
  conversationId: z.string(),
  callId: z.string(),
  fileChanges: z.record(z.string(), z.looseObject({ type: z.string() })),
  reason: optionalText,
  grantRoot: optionalText,
})
const networkAsk = z.looseObject({ enabled: z.boolean().nullish() })
const fileSystemAsk = z.looseObject({
  read: z.array(z.string()).nullish(),
  write: z.array(z.string()).nullish(),
})

/** Parses an approval request; `itemOf` looks up the turn's items (file-change requests name only the item). */
export function parseApproval(
  method: string,
  params: unknown,
  itemOf: (itemId: string) => Item | undefined = () => undefined,
): ParsedApproval | null {
  switch (method) {
    case 'item/commandExecution/requestApproval': {
      const p = commandParams.safeParse(params)
      if (!p.success) return null
      const { options, wire } = commandDecisions(p.data.availableDecisions)
      return {
        threadId: p.data.threadId,
        ask: {
          kind: 'command',
          command: p.data.command || undefined,
          cwd: p.data.cwd || undefined,
          reason: p.data.reason || undefined,
          options,
          turnId: p.data.turnId,
          itemId: p.data.itemId,
        },
        answer: (d) => ({ decision: wire.get(d) ?? v2Names[d] }),
      }
    }
    case 'item/fileChange/requestApproval': {
      const p = fileChangeParams.safeParse(params)
      if (!p.success) return null
      const item = itemOf(p.data.itemId)
      return {
        threadId: p.data.threadId,
        ask: {
          kind: 'file_change',
          ...(item?.type === 'file_change' ? { changes: item.changes } : {}),
          reason: withGrantRoot(p.data.reason, p.data.grantRoot),
          options: allDecisions,
          turnId: p.data.turnId,
          itemId: p.data.itemId,
        },
        answer: (d) => ({ decision: v2Names[d] }),
      }
    }
    case 'item/permissions/requestApproval': {
      const p = permissionsParams.safeParse(params)
      if (!p.success) return null
      const { network, fileSystem } = p.data.permissions
      const granted = {
        ...(network !== null && network !== undefined ? { network } : {}),
        ...(fileSystem !== null && fileSystem !== undefined ? { fileSystem } : {}),
      }
      return {
        threadId: p.data.threadId,
        ask: {
          kind: 'permission',
          cwd: p.data.cwd || undefined,
          reason: describePermissions(p.data.reason, network, fileSystem),
          options: ['accept', 'accept_for_session', 'decline'],
          turnId: p.data.turnId,
          itemId: p.data.itemId,
        },
        answer: (d) =>
          d === 'accept' || d === 'accept_for_session'
            ? { permissions: granted, scope: d === 'accept' ? 'turn' : 'session' }
            : { permissions: {}, scope: 'turn' },
      }
    }
    case 'execCommandApproval': {
      const p = legacyExecParams.safeParse(params)
      if (!p.success) return null
      return {
        threadId: p.data.conversationId,
        ask: {
          kind: 'command',
          command: shellJoin(p.data.command),
          cwd: p.data.cwd || undefined,
          reason: p.data.reason || undefined,
          options: allDecisions,
          itemId: p.data.callId,
        },
        answer: (d) => ({ decision: legacyDecisions[d] }),
      }
    }
    case 'applyPatchApproval': {
      const p = legacyPatchParams.safeParse(params)
      if (!p.success) return null
      return {
        threadId: p.data.conversationId,
        ask: {
          kind: 'file_change',
          changes: Object.entries(p.data.fileChanges).map(([path, change]) => {
            const diff = changeDiff(change.type, legacyText(change))
            return { path, kind: change.type, ...(diff ? { diff } : {}) }
          }),
          reason: withGrantRoot(p.data.reason, p.data.grantRoot),
          options: allDecisions,
          itemId: p.data.callId,
        },
        answer: (d) => ({ decision: legacyDecisions[d] }),
      }
    }
    default:
      return null
  }
}

/**
 * Our options from codex's `availableDecisions` (all four when absent), and the wire value of each.
 * `accept_for_session` is offered only as codex's own `acceptForSession` (kept by codex for that thread, in its
 * process). `acceptWithExecpolicyAmendment` ("don't ask again for this command") is never sent: codex writes it as
 * a `prefix_rule(..., decision="allow")` into CODEX_HOME/rules/default.rules, which every later thread of that
 * CODEX_HOME loads (every untenanted client's sessions, or every session of the tenant, after restarts too), and
 * an allowed command runs without the sandbox there, unasked: a sandboxed command one client accepted "for the
 * session" then wrote outside the workspace in another session (test/integration/codex-accept-for-session.test.ts).
 * `decline` is always offered: codex 0.169 lists only accept and cancel for commands, yet takes `decline` (the
 * command does not run, the item ends declined and the turn goes on), which is what a gateway client means by "no".
 */
export function commandDecisions(available: unknown[] | null | undefined): {
  options: ApprovalDecision[]
  wire: Map<ApprovalDecision, unknown>
} {
  const wire = new Map<ApprovalDecision, unknown>()
  if (!available) {
    for (const d of allDecisions) wire.set(d, v2Names[d])
    return { options: allDecisions, wire }
  }
  for (const entry of available) {
    const ours = allDecisions.find((d) => v2Names[d] === entry)
    if (ours) wire.set(ours, entry)
  }
  if (!wire.has('decline')) wire.set('decline', 'decline')
  return { options: allDecisions.filter((d) => wire.has(d)), wire }
}

function withGrantRoot(reason: string | null | undefined, grantRoot: string | null | undefined) {
  const parts = [reason, grantRoot ? `asks to write under ${grantRoot} for the rest of the session` : null]
  return parts.filter(Boolean).join('; ') || undefined
}

function describePermissions(reason: string | null | undefined, network: unknown, fileSystem: unknown) {
  const parts: string[] = reason ? [reason] : []
  if (networkAsk.safeParse(network).data?.enabled) parts.push('network access')
  const fs = fileSystemAsk.safeParse(fileSystem).data
  if (fs?.write?.length) parts.push(`write: ${fs.write.join(', ')}`)
  if (fs?.read?.length) parts.push(`read: ${fs.read.join(', ')}`)
  return parts.join('; ') || undefined
}

/** An argv as one readable command line (single quotes where the shell would need them). */
function shellJoin(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ')
}

/** What a legacy `applyPatchApproval` change carries: an update's unified diff, an added or deleted file's text. */
function legacyText(change: { type: string; unified_diff?: unknown; content?: unknown }): string | undefined {
  const text = change.type === 'update' ? change.unified_diff : change.content
  return typeof text === 'string' ? text : undefined
}
