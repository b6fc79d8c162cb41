import type { Writable } from 'node:stream'
import type { ApprovalKind } from '../../protocol/policies.js'
import { exactCallRule } from '../exact-call-rule.js'
import type { ApprovalAsk, ApprovalDecision, SessionHooks } from '../session.js'
import type { TurnApprovals } from './session.js'
import { type CanUseTool, type ClaudeControlLine, canUseTool } from './stream-schemas.js'

/** A Claude Code permission rule (`Bash(npm test *)`, `Edit`): what an `accept_for_session` answer allows again. */
export interface PermissionRule {
  toolName: string
  ruleContent?: string
}

/**
 * The rule's spelling on Claude Code's command line (`--allowedTools`) and in its settings files: the content with
 * `\`, `(` and `)` escaped, as Claude Code writes it (a command with parentheses is otherwise read differently).
 */
export const ruleArg = (rule: PermissionRule): string =>
  rule.ruleContent
    ? `${rule.toolName}(${rule.ruleContent.replace(/[\\()]/g, (c) => `\\${c}`)})`
    : rule.toolName

const fileTools: Record<string, string> = {
  Write: 'add',
  Edit: 'update',
  MultiEdit: 'update',
  NotebookEdit: 'update',
}

/** What a `can_use_tool` question asks, as the gateway's approval (a command, a file change, another tool). */
export function approvalAskOf(q: CanUseTool, cwd: string): ApprovalAsk {
  const options: ApprovalDecision[] = ['accept', 'accept_for_session', 'decline', 'cancel']
  const reason = q.decision_reason ?? q.description
  const ids = q.tool_use_id ? { itemId: q.tool_use_id } : {}
  const command = q.input.command
  if (q.tool_name === 'Bash' && typeof command === 'string')
    return { kind: 'command', command, cwd, ...(reason ? { reason } : {}), options, ...ids }
  const file = q.input.file_path ?? q.input.notebook_path
  const changeKind = fileTools[q.tool_name]
  if (changeKind && typeof file === 'string')
    return {
      kind: 'file_change',
      changes: [{ path: file, kind: changeKind }],
      ...(reason ? { reason } : {}),
      options,
      ...ids,
    }
  const kind: ApprovalKind = 'permission'
  const url = fetchedUrl(q)
  if (url !== undefined) {
    // Claude Code's description of a fetch is its URL
    const why = reason && reason !== url ? `: ${reason}` : ''
    return { kind, reason: `WebFetch ${url}${why}; ${fetchGrant}`, options, ...ids }
  }
  return { kind, reason: `${q.tool_name}${reason ? `: ${reason}` : ''}`, options, ...ids }
}

/** What a WebFetch's `accept_for_session` grants, as its approval request says it. */
const fetchGrant = 'accept_for_session allows this exact URL again in this session, no other page of its host'

/** The URL a WebFetch question asks to fetch; undefined for any other tool. */
const fetchedUrl = (q: CanUseTool): string | undefined =>
  q.tool_name === 'WebFetch' && typeof q.input.url === 'string' ? q.input.url : undefined

/**
 * The gateway's own rule for a question Claude Code has no rule of the right size for (exact-call-rule.ts), kept
 * with the session and matched by the gateway, never given to Claude Code: a WebFetch of one exact URL (whatever
 * its prompt or offset; Claude's rule, `WebFetch(domain:<host>)`, allows every page of the host).
 */
export function gatewayRule(q: CanUseTool): string | undefined {
  const url = fetchedUrl(q)
  return url === undefined ? undefined : exactCallRule('WebFetch', { url })
}

/**
 * Claude's suggested allow rules, kept to this session (never written to the workspace's settings). Only rules
 * with a content (`Bash(npm test *)`): a bare tool name would allow every use of the tool. A command without a
 * suggestion is allowed again exactly as it was asked; any other tool only this once.
 */
function sessionRules(q: CanUseTool): PermissionRule[] {
  const rules: PermissionRule[] = []
  if (gatewayRule(q) !== undefined) return rules
  for (const s of q.permission_suggestions ?? []) {
    const update = s as { type?: unknown; behavior?: unknown; rules?: unknown }
    if (update.type !== 'addRules' || update.behavior !== 'allow' || !Array.isArray(update.rules)) continue
    for (const r of update.rules as { toolName?: unknown; ruleContent?: unknown }[])
      if (typeof r.toolName === 'string' && typeof r.ruleContent === 'string' && r.ruleContent.trim())
        rules.push({ toolName: r.toolName, ruleContent: r.ruleContent })
  }
  const command = q.input.command
  if (rules.length === 0 && q.tool_name === 'Bash' && typeof command === 'string')
    rules.push({ toolName: 'Bash', ruleContent: command })
  return rules
}

/**
 * The host side of one `claude -p --input-format stream-json --permission-prompt-tool stdio` process: it sends
 * the turn's prompt as a user message, answers each `can_use_tool` question with the session's approval (the
 * core stores it, emits approval.requested and waits for a client), and ends stdin once the turn's result came
 * (Claude Code exits then). `accept_for_session` allows the tool's suggested rules for the rest of this process
 * and hands them to `remember` for the session's later turns (`--allowedTools`, kept with the session in the
 * gateway's store); no rule is written to Claude Code's settings. A WebFetch's is the gateway's own rule for its
 * exact URL instead (`gatewayRule`), which the gateway answers itself.
 */
export class PermissionPrompts {
  private stdin: Writable | undefined
  private readonly asked = new Map<string, AbortController>()
  /** Tool uses the client declined: their results are `declined`, not failed. */
  readonly declined = new Set<string>()

  constructor(
    private readonly prompt: string,
    private readonly cwd: string,
    private readonly hooks: SessionHooks,
    private readonly signal: AbortSignal,
    private readonly answers: Pick<TurnApprovals, 'remember' | 'allows' | 'cancelled'>,
  ) {}

  /** The process's stdin, once it runs: the prompt goes first. */
  attach(stdin: Writable): void {
    this.stdin = stdin
    stdin.on('error', () => {}) // the process ended: its answers have nobody to read them
    this.write({ type: 'user', message: { role: 'user', content: this.prompt } })
  }

  /** Claude Code's result line came: nothing more will be asked, so stdin ends and the process exits. */
  finish(): void {
    for (const ask of this.asked.values()) ask.abort('turn ended')
    this.stdin?.end()
  }

  handle(line: ClaudeControlLine): void {
    if (line.type === 'control_cancel_request') {
      this.asked.get(line.request_id)?.abort('claude withdrew the question')
      return
    }
    const question = canUseTool.safeParse(line.request)
    if (!question.success) {
      this.reply(line.request_id, { subtype: 'error', error: `${line.request.subtype} is not served here` })
      return
    }
    void this.ask(line.request_id, question.data)
  }

  private async ask(requestId: string, q: CanUseTool): Promise<void> {
    const own = gatewayRule(q)
    // the same exact call the session accepted for good (a rule Claude Code never had): allowed unasked
    if (own !== undefined && this.answers.allows(own)) {
      this.allowOrDeny(requestId, { behavior: 'allow', updatedInput: q.input })
      return
    }
    const asked = new AbortController()
    this.asked.set(requestId, asked)
    const signal = AbortSignal.any([this.signal, asked.signal])
    let decision: ApprovalDecision
    try {
      decision = await this.hooks.requestApproval(approvalAskOf(q, this.cwd), signal)
    } catch {
      decision = 'cancel'
    } finally {
      this.asked.delete(requestId)
    }
    if (asked.signal.aborted) return // withdrawn: Claude waits for no answer
    if (decision === 'decline' || decision === 'cancel') {
      if (q.tool_use_id) this.declined.add(q.tool_use_id)
      const interrupt = decision === 'cancel'
      if (interrupt) this.answers.cancelled()
      const message = interrupt ? 'The user cancelled the turn.' : 'The user declined this tool use.'
      this.allowOrDeny(requestId, { behavior: 'deny', message, interrupt })
      return
    }
    const forSession = decision === 'accept_for_session'
    const rules = forSession ? sessionRules(q) : []
    const kept = [...rules.map(ruleArg), ...(forSession && own !== undefined ? [own] : [])]
    // stored with the session before Claude hears the answer: a restart right after it asks none of them again
    if (kept.length > 0) await this.answers.remember(kept)
    this.allowOrDeny(requestId, {
      behavior: 'allow',
      updatedInput: q.input,
      ...(rules.length > 0
        ? { updatedPermissions: [{ type: 'addRules', rules, behavior: 'allow', destination: 'session' }] }
        : {}),
    })
  }

  private allowOrDeny(requestId: string, response: Record<string, unknown>): void {
    this.reply(requestId, { subtype: 'success', response })
  }

  private reply(requestId: string, answer: Record<string, unknown>): void {
    this.write({ type: 'control_response', response: { ...answer, request_id: requestId } })
  }

  private write(message: unknown): void {
    if (this.stdin && !this.stdin.writableEnded) this.stdin.write(`${JSON.stringify(message)}\n`)
  }
}
