import { existsSync, statSync } from 'node:fs'
import path from 'node:path'
import { type CodexLine, codexExecJsonArgs, codexOutput } from '../agents/codex/exec-json.js'
import { AppError } from '../protocol/errors.js'
import type { RunCompletedEvent } from '../protocol/events.js'
import { resolveModel } from '../protocol/models.js'
import type { SandboxMode } from '../protocol/policies.js'
import { ensureReady, startRun } from './one-shot.js'
import { checkSandbox } from './sandbox-policy.js'
import type { TenantScope } from './tenancy/tenancy.js'
import { resolveCwd } from './workspace.js'

export { finalResponseOf } from '../agents/codex/exec-json.js'
export type { CodexLine }

/**
 * Seed 002's run: `codex exec --json` as a durable `cli` run, followed as codex's OWN JSONL events (the
 * codex driver's exec-json.ts parses them). Every refusal (sandbox, cwd, git repository, codex not ready,
 * capacity) is thrown here, before anything is spawned; the returned function follows the run.
 */
export async function startCodexExecJson(
  scope: TenantScope,
  req: {
    prompt: string
    model?: string | undefined
    sandbox?: SandboxMode | undefined
    workingDirectory?: string | undefined
    skipGitRepoCheck: boolean
    origin: string
    timeoutMs: number
  },
): Promise<(signal: AbortSignal) => AsyncGenerator<CodexLine | { completed: RunCompletedEvent }>> {
  checkSandbox(req.sandbox, scope.config)
  const cwd = resolveCwd(req.workingDirectory, scope.config.workspaceRoots)
  if (!req.skipGitRepoCheck && !insideGitRepo(cwd))
    throw new AppError(
      'invalid_request',
      `working_directory ${cwd} is not inside a git repository, and codex refuses to run there; send "skip_git_repo_check": true (the default) or use a directory of a git repository`,
    )
  await ensureReady(scope.registry.get('codex'))
  const args = codexExecJsonArgs({
    sandbox: req.sandbox ?? scope.config.CODEX_SANDBOX,
    model: resolveModel(req.model, scope.config.CODEX_MODEL),
    skipGitRepoCheck: req.skipGitRepoCheck,
  })
  const follow = await startRun(
    scope.runs,
    'cli',
    { cwd, command: { cli: 'codex', args, stdin: req.prompt, env: {} } },
    { origin: req.origin, timeoutMs: req.timeoutMs, builtCommand: true },
  )
  return (signal) => codexOutput(follow(signal))
}

/**
 * Walks up from `dir` looking for a git repository as git sees one: a `.git` directory with a HEAD, or a
 * `.git` file (worktrees, submodules). A stray empty `.git` directory is not one (codex refuses it too).
 */
function insideGitRepo(dir: string): boolean {
  for (let current = dir; ; current = path.dirname(current)) {
    const dotGit = path.join(current, '.git')
    if (existsSync(path.join(dotGit, 'HEAD'))) return true
    try {
      if (statSync(dotGit).isFile()) return true
    } catch {}
    if (path.dirname(current) === current) return false
  }
}
