import path from 'node:path'
import type { ApprovalDecision, ApprovalKind, SandboxMode } from '../../protocol/policies.js'
import type { ToolCallState } from './tool-items.js'

/**
 * What an approved file change lets be written at one path: its diff's new text, the whole file as the change
 * leaves it (Gemini CLI's diffs are whole files); none when the change named the path by a location only (the
 * client approved an edit of the file without seeing one). The other presets' diffs of an edit inside a file are
 * excerpts (codex-acp's hunk, claude-agent-acp's old and new string; copilot's a unified diff in its rawInput), but
 * they write their edits themselves, never through fs/write_text_file (measured: codex-acp 0.16, claude-agent-acp
 * 0.100, copilot 1.0.102), so no write of theirs is compared with one.
 */
export interface ApprovedWrite {
  path: string
  content?: string
}

/** The writes a file change of the agent asks to be allowed: its diffs', else its locations'. */
export function approvedWrites(tool: ToolCallState): ApprovedWrite[] {
  const diffs = tool.content.flatMap((c) => {
    const d = c as { type: string; path?: unknown; newText?: unknown }
    if (d.type !== 'diff' || typeof d.path !== 'string') return []
    return [typeof d.newText === 'string' ? { path: d.path, content: d.newText } : { path: d.path }]
  })
  return diffs.length > 0 ? diffs : tool.locations.map((l) => ({ path: l.path }))
}

/** Line endings do not tell contents apart: Gemini CLI shows a CRLF file's edit with LF and writes it with CRLF. */
const sameText = (a: string, b: string): boolean => a.replace(/\r\n/g, '\n') === b.replace(/\r\n/g, '\n')

/**
 * Whether the gateway writes a file for an ACP agent (`fs/write_text_file`), by the session's sandbox: the gateway
 * does it on the agent's behalf, so the sandbox is the gateway's to enforce, whether the agent asked first or not.
 *
 * | sandbox            | written (always inside the session's cwd: fs-access.ts)                                  |
 * |--------------------|-------------------------------------------------------------------------------------------|
 * | read-only          | only what a file change the client approved in this turn leaves in that file (below)      |
 * | workspace-write    | every file                                                                                |
 * | danger-full-access | every file                                                                                |
 *
 * An agent that asks before it edits (Gemini CLI: `session/request_permission` with the edit's diff, then
 * `fs/write_text_file`) keeps working in a read-only session: a file change answered `accept` lets each path it
 * names be written, until the turn ends, with the new text its diff showed the client (line endings aside), and with
 * nothing else: an agent may not ask about one edit and write another. A path the change named by a location only
 * (no diff: no content was shown) may be written with any content. `accept_for_session` lets every file in the cwd
 * be written until the session ends (the agent asks about no more edits: Gemini CLI's auto-edit mode,
 * claude-agent-acp's `acceptEdits`). Nothing else is written: not a path no approved change named, not one of a
 * declined or cancelled change, not an earlier turn's.
 */
export class WriteGrants {
  /**
   * The approved paths of the turn running now (as the agent named them, resolved, and after symlinks), each with
   * the contents it may be given; `any` when one of its approvals showed none.
   */
  private readonly turnPaths = new Map<string, string[] | 'any'>()
  private wholeSession = false

  constructor(
    public sandbox: SandboxMode,
    private readonly cwd: string,
    /** The real path of a path (its existing part after symlinks): fs-access.ts's. */
    private readonly real: (p: string) => string | undefined,
  ) {}

  /** Why `file` (real: `real`) may not be written with `content`; undefined when it may. */
  refusal(file: string, real: string, content: string): string | undefined {
    if (this.sandbox !== 'read-only' || this.wholeSession) return undefined
    const allowed = this.turnPaths.get(path.resolve(this.cwd, file)) ?? this.turnPaths.get(real)
    if (allowed === undefined)
      return (
        `${file}: not written: the session's sandbox is read-only, and no file change of this path was approved ` +
        'in this turn'
      )
    if (allowed === 'any' || allowed.some((approved) => sameText(approved, content))) return undefined
    return (
      `${file}: not written: the session's sandbox is read-only, and this content is not what the file change ` +
      'the client approved in this turn leaves in it (its diff)'
    )
  }

  /** The client's answer to a permission request of the agent (a file change: what it asks to write). */
  answered(kind: ApprovalKind, decision: ApprovalDecision, writes: ApprovedWrite[]): void {
    if (kind !== 'file_change') return
    if (decision === 'accept_for_session') this.wholeSession = true
    if (decision !== 'accept' && decision !== 'accept_for_session') return
    for (const write of writes) {
      const resolved = path.resolve(this.cwd, write.path)
      const real = this.real(resolved)
      for (const key of real === undefined ? [resolved] : [resolved, real]) this.allow(key, write.content)
    }
  }

  private allow(key: string, content: string | undefined): void {
    const allowed = this.turnPaths.get(key) ?? []
    if (allowed === 'any') return
    this.turnPaths.set(key, content === undefined ? 'any' : [...allowed, content])
  }

  /** The turn ended: what its approvals allowed is over. */
  turnEnded(): void {
    this.turnPaths.clear()
  }
}
