import type { AgentDriver } from '../agents/driver.js'
import type { AgentRegistry } from '../agents/registry.js'
import type { Config } from '../config/load.js'
import { AppError } from '../protocol/errors.js'
import type { Run, RunRequestFields } from '../protocol/runs.js'
import { checkRunInput } from './cli-policy.js'
import { checkImageFile } from './image-checks.js'
import { checkInputSize } from './input-size.js'
import { ensureReady } from './one-shot.js'
import { effectiveLimits } from './ops/budget.js'
import { checkOutputSchema, compileOutputSchema, type OutputValidator } from './output-schema.js'
import type { RunCluster } from './run-cluster.js'
import { checkContainerCwd, containerPlacement } from './runners.js'
import { checkSandbox } from './sandbox-policy.js'
import { resolveCwd } from './workspace.js'

/** How a route other than POST /v1/runs submits a run on its caller's behalf (the seed routes). */
export interface SubmitOptions {
  /** The route that asked, kept on the run (`POST /chat`); absent for POST /v1/runs. */
  origin?: string
  /** `null`: no time limit (codex.serve without RUN_RESPONSE_TIMEOUT_SECONDS). Default: TIMEOUT_SECONDS. */
  timeoutMs?: number | null
  /** The route built the command itself (codex exec for /api/codex/*): the /run policy does not apply. */
  builtCommand?: boolean
  /**
   * The args the cli policy judges instead of `command.args`, when the image changes them before the CLI sees
   * them: seed 001's CLI image runs codex args naming no subcommand as `codex exec <args>` (POST /run's Docker mode).
   */
  policyArgs?: string[]
  /** The run's id, chosen before (an Idempotency-Key held for it: request-keys.ts). Default: a new one. */
  id?: string
}

/** A run request as admitted: checked, its paths confined, its timeout and limits settled. */
export interface AdmittedRequest {
  request: Run['request']
  validate: OutputValidator | undefined
}

/**
 * Checks a run request before it is stored (the cli policy, sandbox, output schema, cwd and images inside the
 * workspace roots, placement) and settles what it leaves to the server (timeout, limits). Throws what is wrong.
 */
export async function admitRequest(
  driver: AgentDriver,
  fields: RunRequestFields,
  opts: SubmitOptions,
  config: Config,
  registry: AgentRegistry,
): Promise<AdmittedRequest> {
  if (!opts.builtCommand) checkRunInput(driver.id, fields, config, registry, opts.policyArgs)
  checkSandbox(fields.sandbox, config)
  // a prompt its agent could not take whole (its own limit, the line it is echoed on): input-size.ts
  if (fields.prompt !== undefined) checkInputSize([{ type: 'text', text: fields.prompt }], driver, 'prompt')
  for (const capability of ['outputSchema', 'images'] as const)
    if (fields[capability] && !driver.capabilities[capability] && !builtCodexExec(fields, opts))
      throw new AppError(
        'invalid_request',
        `agent ${driver.id} does not support ${capability}; GET /v1/agents lists each agent's capabilities`,
      )
  if (fields.outputSchema) checkOutputSchema(fields.outputSchema)
  const validate = outputValidator(driver, fields.outputSchema)
  const cwd = resolveCwd(fields.cwd, config.workspaceRoots)
  // `isolation`/`image` are checked here; the node that runs it places it (enqueue)
  checkContainerCwd(containerPlacement(fields, config), cwd, config)
  const images = fields.images?.map((img, i) => {
    const image = resolveCwd(img, config.workspaceRoots, { allowFiles: true, what: 'image', base: cwd })
    // an image by its first bytes, not too large: a 400 naming it now, not a run that fails or drops it
    checkImageFile(image, `images[${i}]`, img, config.MAX_IMAGE_BYTES)
    return image
  })
  // The cli driver's probe judges every CLI_LIST entry (GET /v1/agents, /health): a run needs only its own CLI,
  // which checkRunInput found installed (or which runs in an image), or, for a command a route built, the agent
  // that route checked itself (seed 002's codex). One CLI_LIST entry missing here refused every run with 503.
  if (driver.id !== 'cli') await ensureReady(driver)
  const timeoutMs =
    opts.timeoutMs === null ? null : (opts.timeoutMs ?? fields.timeoutMs ?? config.TIMEOUT_SECONDS * 1000)
  const limits = effectiveLimits(fields.limits, config)
  const request = {
    ...fields,
    cwd,
    ...(images ? { images } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
    ...(limits ? { limits } : {}),
  }
  return { request, validate }
}

/**
 * Seed 002's `codex exec` (a command the route built) takes images and an output schema: the cli driver attaches
 * the staged copies to it as `--image` and the schema's private file as `--output-schema`. A caller's own command
 * (POST /run, /v1's `cli`) never does.
 */
const builtCodexExec = (fields: RunRequestFields, opts: SubmitOptions) =>
  opts.builtCommand === true && fields.command?.cli === 'codex'

/**
 * The gateway's check of a run's final response against its outputSchema (400 now when the schema is not one), for
 * an agent that reports a final response. A built `codex exec` on the `cli` driver (seed 002) reports none: codex's
 * own JSONL is its output, and the schema goes to codex, which has the model answer in it, as seed 002's original
 * did (`codex exec --output-schema`); no check of the gateway's then.
 */
export function outputValidator(
  driver: AgentDriver,
  schema: Record<string, unknown> | undefined,
): OutputValidator | undefined {
  return schema && driver.capabilities.outputSchema ? compileOutputSchema(schema) : undefined
}

/**
 * Unfinished runs the cluster may hold: MAX_QUEUED_RUNS plus MAX_CONCURRENT_RUNS per live node that runs
 * agents (this node alone without a cluster).
 */
export async function runCapacity(config: Config, cluster?: RunCluster): Promise<number> {
  const runners = cluster?.role === 'api' ? await cluster.membership.liveRunners() : 1
  return config.MAX_QUEUED_RUNS + config.MAX_CONCURRENT_RUNS * Math.max(runners, 1)
}
