import { randomUUID } from 'node:crypto'
import type { Writable } from 'node:stream'
import type { Config } from '../../config/load.js'
import { AppError } from '../../protocol/errors.js'
import type { AgentEvent } from '../../protocol/events.js'
import { resolveModel } from '../../protocol/models.js'
import type { SandboxMode } from '../../protocol/policies.js'
import { runNotStarted } from '../../protocol/run-completed.js'
import { firstUse } from '../../util/first-use.js'
import { CliAgentDriver, type CliCredentials } from '../cli-agent-driver.js'
import { capabilities, type RunRequest } from '../driver.js'
import { type Placement, placed } from '../placement.js'
import { runProcess } from '../process-run.js'
import type { AgentSession, SessionDriver, SessionHooks, SessionRequest } from '../session.js'
import { type ClaudeThread, claudeArgs, claudeEnv } from './command.js'
import type { ConversationCut } from './conversation-copy.js'
import { claudeConversationExists } from './conversation-file.js'
import { claudeAuthHint, claudeHasCredentials, claudeInstallHint, resolveClaudeBinary } from './probe.js'
import { scrubbedShellMount } from './scrubbed-shell.js'
import type { TurnApprovals } from './session.js'

/**
 * What claude's runs and sessions need beyond their command line (the output's mapper, the permission prompts, the
 * session, conversation copies): loaded with the first of them (util/first-use.ts), not with the server.
 */
const runCode = firstUse(async () => {
  const [events, prompts, session, copy] = await Promise.all([
    import('./stream-events.js'),
    import('./permission-prompts.js'),
    import('./session.js'),
    import('./conversation-copy.js'),
  ])
  return {
    createClaudeMapper: events.createClaudeMapper,
    PermissionPrompts: prompts.PermissionPrompts,
    ClaudeSession: session.ClaudeSession,
    copyClaudeConversation: copy.copyClaudeConversation,
    claudeConversationBytes: copy.claudeConversationBytes,
  }
})

interface ClaudeProcessSpec extends Placement {
  prompt: string
  cwd: string
  model?: string
  sandbox?: SandboxMode
  timeoutMs?: number | null
  thread?: ClaudeThread
  /** A session turn whose permission questions the gateway answers (an approval policy other than `never`). */
  approvals?: TurnApprovals
}

export const claudeCapabilities = capabilities('sessions', 'fork', 'interrupt', 'approvals')

/**
 * Claude Code: `claude -p --output-format stream-json --verbose` per run and per session turn (the prompt on
 * stdin). Sessions continue by id (--session-id first, --resume later; a fork is a copy of the conversation, resumed). A
 * session turn with an approval policy other than `never` asks the gateway before each tool its permission mode
 * does not allow (`--permission-prompt-tool stdio`, see claude/permissions.ts and permission-prompts.ts); runs and
 * `never` turns refuse those tools. The default sandbox is read-only, as for codex.
 */
export class ClaudeDriver extends CliAgentDriver implements SessionDriver {
  readonly id = 'claude'
  readonly capabilities = claudeCapabilities
  /** Every turn is a process of its own: each may run with its own approval policy. */
  readonly approvalPolicyPerTurn = true
  protected override readonly pinnedPackages = ['@anthropic-ai/claude-code']

  protected findBinary(config: Config): string | null {
    return resolveClaudeBinary(config.CLAUDE_PATH)
  }

  childEnv(sandbox: SandboxMode = 'read-only'): Record<string, string> {
    return claudeEnv(this.config, this.serverEnv, sandbox, this.runner)
  }

  buildArgs(spec: Omit<ClaudeProcessSpec, 'prompt' | 'cwd'>): string[] {
    const model = resolveModel(spec.model, this.config.CLAUDE_MODEL)
    return claudeArgs({
      sandbox: spec.sandbox ?? 'read-only',
      workspaceSettings: this.config.CLAUDE_WORKSPACE_SETTINGS,
      webFetchPreflight: this.config.CLAUDE_WEBFETCH_PREFLIGHT,
      ...(model ? { model } : {}),
      ...(spec.thread ? { thread: spec.thread } : {}),
      ...(spec.approvals ? { asks: true, allowedTools: spec.approvals.allowedTools } : {}),
    })
  }

  protected credentials(): CliCredentials {
    return {
      authenticated: claudeHasCredentials(this.config, this.serverEnv),
      installHint: claudeInstallHint,
      authHint: claudeAuthHint,
    }
  }

  run(req: RunRequest, signal: AbortSignal): AsyncIterable<AgentEvent> {
    return this.execute(req, signal)
  }

  async openSession(req: SessionRequest, hooks: SessionHooks): Promise<AgentSession> {
    const { ClaudeSession } = runCode.loaded ?? (await runCode.load())
    return new ClaudeSession(this, req, { id: randomUUID(), exists: false }, hooks)
  }

  async resumeSession(
    agentSessionId: string,
    req: SessionRequest,
    hooks: SessionHooks,
  ): Promise<AgentSession> {
    const allowed = req.allowedForSession ?? []
    await this.recoverFork(agentSessionId, req)
    const { ClaudeSession } = runCode.loaded ?? (await runCode.load())
    return new ClaudeSession(this, req, { id: agentSessionId, exists: true, allowed }, hooks)
  }

  async call(method: string, _params: unknown): Promise<unknown> {
    throw new AppError('invalid_request', `claude has no method ${method}`)
  }

  runTurn(
    prompt: string,
    req: SessionRequest,
    thread: ClaudeThread,
    signal: AbortSignal,
    approvals?: TurnApprovals,
  ) {
    return this.execute({ ...req, prompt, thread, ...(approvals ? { approvals } : {}) }, signal)
  }

  async copyConversation(cwd: string, from: string, to: string, cut?: ConversationCut): Promise<boolean> {
    const { copyClaudeConversation } = runCode.loaded ?? (await runCode.load())
    return copyClaudeConversation(this.serverEnv, cwd, from, to, cut)
  }

  async conversationBytes(cwd: string, id: string): Promise<number | null> {
    const { claudeConversationBytes } = runCode.loaded ?? (await runCode.load())
    return claudeConversationBytes(this.serverEnv, cwd, id)
  }

  /**
   * A fork reopened before its first turn without a conversation of its own: one the gateway stored before it
   * copied a fork's conversation when the fork is made (its first turn copied it then, `--fork-session`), or
   * whose copy is gone. The conversation that holds its history is copied now, up to the fork point
   * (SessionRequest.forkOf): the lines Claude wrote before the first turn after it started, whatever they hold (a
   * turn cancelled before Claude wrote its prompt wrote none; a fork an older gateway made holds its parent as it
   * was at its first turn), not a count of prompts. Without it, the fork's first turn says `context_lost`.
   */
  private async recoverFork(agentSessionId: string, req: SessionRequest): Promise<void> {
    const parent = req.forkOf
    if (!parent || (await claudeConversationExists(this.serverEnv, req.cwd, agentSessionId))) return
    const before = parent.before === undefined ? Number.NaN : Date.parse(parent.before)
    const cut = Number.isNaN(before) ? {} : { before }
    await this.copyConversation(req.cwd, parent.agentSessionId, agentSessionId, cut).catch(() => false)
  }

  /** One `claude -p` process: run.started first, exactly one run.completed last, never throws. */
  private async *execute(spec: ClaudeProcessSpec, signal: AbortSignal): AsyncGenerator<AgentEvent> {
    if (!this.binary) {
      yield { type: 'run.started', agent: this.id }
      yield runNotStarted(claudeInstallHint)
      return
    }
    const { PermissionPrompts, createClaudeMapper } = runCode.loaded ?? (await runCode.load())
    const sandbox = spec.sandbox ?? 'read-only'
    const env = this.childEnv(sandbox)
    const asks = spec.approvals && sandbox !== 'danger-full-access' ? spec.approvals : undefined
    const prompts = asks ? new PermissionPrompts(spec.prompt, spec.cwd, asks.hooks, signal, asks) : undefined
    yield* runProcess(
      {
        agent: this.id,
        runner: this.runner,
        spawn: {
          command: this.binary,
          args: this.buildArgs(spec),
          cwd: spec.cwd,
          ...placed(
            spec,
            'claude',
            [this.serverEnv.CLAUDE_CONFIG_DIR, scrubbedShellMount(env)],
            (spec.sandbox ?? 'read-only') !== 'read-only',
          ),
          env,
          stdin: prompts ? { keepOpen: true } : spec.prompt,
          timeoutMs: spec.timeoutMs ?? null,
          killGraceMs: this.config.KILL_GRACE_MS,
          // a command's daemon (setsid, a double fork) leaves the group: it ends with the process
          sweepLeftovers: true,
        },
        stdout: { mode: 'lines', mapper: createClaudeMapper(this.id, prompts) },
        ...(prompts ? { onStdin: (stdin: Writable) => prompts.attach(stdin) } : {}),
      },
      signal,
    )
  }
}
