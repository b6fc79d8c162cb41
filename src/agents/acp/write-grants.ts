import path from 'node:path'
import type { SandboxMode } from '../../protocol/policies.js'
import type { ApprovalAsk, ApprovalDecision } from '../session.js'

/**
 * Whether the gateway writes a file for an ACP agent (`fs/write_text_file`), by the session's sandbox: the gateway
 * does it on the agent's behalf, so the sandbox is the gateway's to enforce, whether the agent asked first or not.
 *
 * | sandbox            | written (always inside the session's cwd: fs-access.ts)                               |
 * |--------------------|----------------------------------------------------------------------------------------|
 * | read-only          | only a path a file change the client approved names, until the turn ends (below)       |
 * | workspace-write    | every file                                                                             |
 * | danger-full-access | every file                                                                             |
 *
 * An agent that asks before it edits (Gemini CLI: `session/request_permission` with the edit's diff, then
 * `fs/write_text_file`) keeps working in a read-only session: a file change answered `accept` lets the paths it
 * names (its diffs', else its locations') be written until the turn ends; `accept_for_session` lets every file in
 * the cwd be written until the session ends (the agent asks about no more edits: Gemini CLI's auto-edit mode,
 * claude-agent-acp's `acceptEdits`). What was approved is the path, not the content. Nothing else is written: not
 * a path no approved change named, not one of a declined or cancelled change, not an earlier turn's.
 */
export class WriteGrants {
  /** The approved paths of the turn running now: as the agent named them (resolved) and after symlinks. */
  private readonly turnPaths = new Set<string>()
  private wholeSession = false

  constructor(
    public sandbox: SandboxMode,
    private readonly cwd: string,
    /** The real path of a path (its existing part after symlinks): fs-access.ts's. */
    private readonly real: (p: string) => string | undefined,
  ) {}

  /** Why `file` (real: `real`) may not be written; undefined when it may. */
  refusal(file: string, real: string): string | undefined {
    if (this.sandbox !== 'read-only' || this.wholeSession) return undefined
    if (this.turnPaths.has(path.resolve(this.cwd, file)) || this.turnPaths.has(real)) return undefined
    return (
      `${file}: not written: the session's sandbox is read-only, and no file change of this path was approved ` +
      'in this turn'
    )
  }

  /** The client's answer to a permission request of the agent. */
  answered(ask: ApprovalAsk, decision: ApprovalDecision): void {
    if (ask.kind !== 'file_change') return
    if (decision === 'accept_for_session') this.wholeSession = true
    if (decision !== 'accept' && decision !== 'accept_for_session') return
    for (const change of ask.changes ?? []) {
      const resolved = path.resolve(this.cwd, change.path)
      this.turnPaths.add(resolved)
      const real = this.real(resolved)
      if (real !== undefined) this.turnPaths.add(real)
    }
  }

  /** The turn ended: what its approvals allowed is over. */
  turnEnded(): void {
    this.turnPaths.clear()
  }
}
