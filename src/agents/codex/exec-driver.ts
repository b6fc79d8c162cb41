import type { Config } from '../../config/load.js'
import { baseChildEnv } from '../../process/child-env.js'
import { newMarker } from '../../process/process-marker.js'
import { stagedPath } from '../../process/runner.js'
import type { AgentEvent } from '../../protocol/events.js'
import { resolveModel } from '../../protocol/models.js'
import { runNotStarted } from '../../protocol/run-completed.js'
import { CliAgentDriver, type CliCredentials } from '../cli-agent-driver.js'
import type { IncludeOnlyReader } from '../codex-app-server/include-only-reader.js'
import { resolveCodexBinary } from '../codex-binary.js'
import { type AgentDriver, capabilities, type RunRequest } from '../driver.js'
import { runProcess } from '../process-run.js'
import { codexHostCaEnv } from './ca-bundle.js'
import { includeOnlyOverride, markerOverride } from './command-markers.js'
import { createCodexExecMapper } from './exec-events.js'
import { codexAuthHint, codexHasCredentials, codexInstallHint } from './probe.js'
import { codexEnv, codexProviderArgs } from './provider-args.js'
import { codexSandboxArgs, readProfileOverrides } from './read-profiles.js'

/**
 * codex's own limit on a turn's text (its text items together, in characters): app-server's `turn/start` (also
 * under `codex exec`) refuses more with -32602 "Input exceeds the maximum length of 1048576 characters." (codex
 * 0.171), which failed the turn or run after the gateway had taken it.
 */
export const codexMaxInputChars = 1_048_576

export const codexExecCapabilities = capabilities('images', 'outputSchema')

import { innerSandbox, placed, placedImages } from '../placement.js'
import { codexStartupNoiseFilter } from './stderr-noise.js'

/**
 * `codex exec --json`: one process per run, no approvals (exec mode has none), sandbox chosen explicitly; what
 * its commands left in sessions of their own is swept once it ended (marked-processes.ts).
 */
export class CodexExecDriver extends CliAgentDriver implements AgentDriver {
  readonly id = 'codex-exec'
  readonly capabilities = codexExecCapabilities
  readonly maxInputChars = codexMaxInputChars
  /**
   * codex's effective `include_only` in a cwd with the markers' names added (undefined: it keeps them), read
   * through codex's `config/read` (CodexDriver sets this); without it a local run's commands may lose the marker.
   */
  includeOnly?: IncludeOnlyReader

  protected findBinary(config: Config): string | null {
    return resolveCodexBinary(config.CODEX_PATH)
  }

  childEnv(): Record<string, string> {
    return { ...baseChildEnv(this.serverEnv), ...codexEnv(this.config, this.serverEnv, this.runner) }
  }

  protected credentials(): CliCredentials {
    return {
      authenticated: codexHasCredentials(this.config, this.serverEnv),
      installHint: codexInstallHint,
      authHint: codexAuthHint,
    }
  }

  /**
   * The argv after the binary; the prompt goes through stdin (`-`), so its size is not limited by argv. With a
   * `marker`, every command codex runs carries it, kept through `includeOnly` (command-markers.ts).
   */
  buildArgs(req: RunRequest, schemaFile?: string, marker?: string, includeOnly?: string[]): string[] {
    const sandbox = innerSandbox(req, req.sandbox ?? this.config.CODEX_SANDBOX)
    const args = ['exec', '--json']
    // the profiles first: the sandbox's selection comes after them
    if (req.isolation !== 'container') args.push(...readProfileOverrides(this.config, this.binary))
    args.push(...codexSandboxArgs(this.config, sandbox))
    const model = resolveModel(req.model, this.config.CODEX_MODEL)
    // attached, as seed 002's (exec-json.ts): clap refuses a separate value that starts with `-`
    if (model) args.push(`--model=${model}`)
    if (req.skipGitRepoCheck ?? true) args.push('--skip-git-repo-check')
    if (schemaFile) args.push('--output-schema', schemaFile)
    for (const image of req.images ?? []) args.push('--image', image)
    args.push(...codexProviderArgs(this.config, this.runner, this.serverEnv))
    if (marker) args.push(...markerOverride(marker), ...includeOnlyOverride(includeOnly))
    args.push('-')
    return args
  }

  async *run(req: RunRequest, signal: AbortSignal): AsyncGenerator<AgentEvent> {
    if (!this.binary) {
      yield { type: 'run.started', agent: this.id }
      yield runNotStarted(codexInstallHint)
      return
    }
    const schema = req.outputSchema
      ? { name: 'schema.json', content: JSON.stringify(req.outputSchema) }
      : null
    // what its commands leave in sessions of their own is ended once the run's codex ended (a container's
    // with the container)
    const marker = newMarker()
    const includeOnly =
      req.isolation === 'container' ? undefined : await this.includeOnly?.keepingMarkers(req.cwd)
    // in a container, codex reads the copies where the container mounts them
    const images = placedImages(req.images, req.isolation === 'container')
    const seen = images.paths ? { ...req, images: images.paths } : req
    yield* runProcess(
      {
        agent: this.id,
        runner: this.runner,
        spawn: {
          command: this.binary,
          args: this.buildArgs(seen, schema ? stagedPath(schema.name) : undefined, marker, includeOnly),
          ...(schema ? { files: [schema] } : {}),
          cwd: req.cwd,
          ...placed(
            req,
            'codex',
            [this.config.CODEX_HOME, ...images.mounts],
            (req.sandbox ?? this.config.CODEX_SANDBOX) !== 'read-only',
          ),
          env: { ...this.childEnv(), ...codexHostCaEnv(this.serverEnv, req.isolation) },
          stdin: req.prompt,
          timeoutMs: req.timeoutMs ?? null,
          killGraceMs: this.config.KILL_GRACE_MS,
          sweepLeftovers: true,
          marker,
        },
        stdout: { mode: 'lines', mapper: createCodexExecMapper(this.id) },
        stderrFilter: codexStartupNoiseFilter(),
      },
      signal,
    )
  }
}
