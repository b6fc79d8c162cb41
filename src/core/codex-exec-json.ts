import { type CodexLine, codexExecJsonArgs, codexOutput } from '../agents/codex/exec-json.js'
import type { RunCompletedEvent } from '../protocol/events.js'
import { resolveModel } from '../protocol/models.js'
import type { SandboxMode } from '../protocol/policies.js'
import { ensureReady, startRun } from './one-shot.js'
import { checkJsonSchema, checkOutputSchema } from './output-schema.js'
import { checkSandbox } from './sandbox-policy.js'
import type { TenantScope } from './tenancy/tenancy.js'
import { resolveCwd } from './workspace.js'

export { finalResponseOf } from '../agents/codex/exec-json.js'
export type { CodexLine }

/**
 * Seed 002's run: `codex exec --json` as a durable `cli` run, followed as codex's OWN JSONL events (the
 * codex driver's exec-json.ts parses them). Every refusal of the gateway's (sandbox, cwd, codex not ready,
 * capacity) is thrown here, before anything is spawned; the returned function follows the run. Whether a
 * directory outside a git repository will do (`skip_git_repo_check: false`) is codex's to say, as in the seed:
 * it refuses on stderr, which seed 002's routes quote in their `Codex process failed` event. Its `images` take
 * /v1's path: each must be a file inside the workspace roots (400 otherwise, before anything is spawned), codex
 * gets a private copy of each (`--image`), read when the run starts. Its `outputSchema` reaches codex as seed 002's
 * original passed it, `--output-schema <file>`, the file private to the run (the runner's staged directory,
 * removed when the run ended); codex has the model answer in it. The gateway bounds its size and does not check
 * the answer itself (run-admission.ts `outputValidator`).
 */
export async function startCodexExecJson(
  scope: TenantScope,
  req: {
    prompt: string
    model?: string | undefined
    sandbox?: SandboxMode | undefined
    workingDirectory?: string | undefined
    skipGitRepoCheck: boolean
    /** Image paths, relative to the working directory or absolute inside the workspace roots, as /v1's. */
    images?: string[] | undefined
    /**
     * A JSON Schema for codex's final answer (`codex exec --output-schema`, written to a private file the run
     * removes); `field` names it in the refusal of one too long.
     */
    outputSchema?: { schema: Record<string, unknown>; field: string } | undefined
    origin: string
    timeoutMs: number
  },
): Promise<
  (signal: AbortSignal) => AsyncGenerator<CodexLine | { completed: RunCompletedEvent; stderr: string }>
> {
  checkSandbox(req.sandbox, scope.config)
  if (req.outputSchema) {
    checkOutputSchema(req.outputSchema.schema, req.outputSchema.field)
    checkJsonSchema(req.outputSchema.schema, req.outputSchema.field)
  }
  const cwd = resolveCwd(req.workingDirectory, scope.config.workspaceRoots)
  await ensureReady(scope.registry.get('codex'))
  const args = codexExecJsonArgs({
    sandbox: req.sandbox ?? scope.config.CODEX_SANDBOX,
    model: resolveModel(req.model, scope.config.CODEX_MODEL),
    skipGitRepoCheck: req.skipGitRepoCheck,
  })
  const follow = await startRun(
    scope.runs,
    'cli',
    {
      cwd,
      command: { cli: 'codex', args, stdin: req.prompt, env: {} },
      // confined and staged as /v1's (run-admission.ts, staged-images.ts); the cli driver attaches the copies
      ...(req.images?.length ? { images: req.images } : {}),
      // the cli driver stages it and names the file to codex (`--output-schema`)
      ...(req.outputSchema ? { outputSchema: req.outputSchema.schema } : {}),
    },
    { origin: req.origin, timeoutMs: req.timeoutMs, builtCommand: true },
  )
  return (signal) => codexOutput(follow(signal))
}
