import path from 'node:path'
import type { Config } from '../../config/load.js'
import { baseChildEnv } from '../../process/child-env.js'
import { localRunner } from '../../process/local-runner.js'
import { newMarker } from '../../process/process-marker.js'
import { type ProcessRunner, type StagedFile, stagedPath } from '../../process/runner.js'
import type { AgentEvent } from '../../protocol/events.js'
import { runNotStarted } from '../../protocol/run-completed.js'
import { webFetchArgs, workspaceConfigOff } from '../claude/command.js'
import { codexOverride } from '../codex/config-override.js'
import { codexEnv, codexProviderArgs } from '../codex/provider-args.js'
import { readProfileOverrides } from '../codex/read-profiles.js'
import { confinedCodexArgs } from '../codex/run-sandbox-args.js'
import { codexStartupNoiseFilter } from '../codex/stderr-noise.js'
import { findOnPath, resolveCodexBinary } from '../codex-binary.js'
import { type AgentDriver, type AgentStatus, capabilities, type RunRequest } from '../driver.js'
import { ensureGeminiSettings, geminiHome } from '../gemini/home.js'
import { placed, placedImages } from '../placement.js'
import { runProcess } from '../process-run.js'
import { dockerModeArgs, dockerModeEnv } from './docker-mode.js'
import { geminiRunLaunch } from './gemini-run.js'

/**
 * The raw `cli` driver (codex.serve's POST /run contract): runs an allowlisted CLI with the caller's args,
 * stdin and env, and yields its stdout/stderr as `output` events. For codex, the gateway's provider settings
 * are prepended as global `-c` overrides so the CLI reaches the configured endpoint; claude (below) and gemini
 * (gemini-run.ts) leave out the workspace's own configuration as their drivers do.
 */
/** The CLIs this package pins (node_modules/.bin), found before PATH. */
const packageBin = path.resolve(import.meta.dirname, '../../../node_modules/.bin')

/**
 * claude on /run leaves out the workspace's own configuration as the claude driver does (claude/command.ts), unless
 * CLAUDE_WORKSPACE_SETTINGS: `--setting-sources user --strict-mcp-config` before the request's args (the grammar
 * lets a request's own `--setting-sources` say only `user` then; with RUN_ALLOW_UNSAFE_ARGS its later one wins);
 * and its WebFetch asks Anthropic about no domain, unless CLAUDE_WEBFETCH_PREFLIGHT (`--settings`: the grammar
 * refuses a request's own).
 */
const claudeArgs = (config: Config, cli: string, args: string[]) =>
  path.basename(cli) === 'claude'
    ? [
        ...(config.CLAUDE_WORKSPACE_SETTINGS ? [] : workspaceConfigOff),
        ...webFetchArgs(config.CLAUDE_WEBFETCH_PREFLIGHT),
        ...args,
      ]
    : args

/** CODEX_MODEL as a global `-c model=` default; a `--model` in the request's own args still wins. */
const codexModelArgs = (config: Config) =>
  config.CODEX_MODEL ? codexOverride('model', config.CODEX_MODEL) : []

/**
 * A codex command with a run's (staged) images and output schema, right after `exec`: `--output-schema <its private
 * file>` (staged by the runner, removed after the run) and `--image <copy>` for each image (a flag follows, so
 * clap's many-valued option ends there, never eating the prompt's `-`). Only seed 002's built `codex exec` carries
 * them (run-admission.ts); null for any other command with either.
 */
function attachExecInputs(
  args: string[],
  req: Pick<RunRequest, 'images' | 'outputSchema'>,
): { args: string[]; files: StagedFile[] } | null {
  const images = req.images ?? []
  const schema = req.outputSchema ? { name: 'schema.json', content: JSON.stringify(req.outputSchema) } : null
  if (!images.length && !schema) return { args, files: [] }
  if (args[0] !== 'exec') return null
  return {
    args: [
      'exec',
      ...(schema ? ['--output-schema', stagedPath(schema.name)] : []),
      ...images.flatMap((image) => ['--image', image]),
      ...args.slice(1),
    ],
    files: schema ? [schema] : [],
  }
}

export const cliCapabilities = capabilities()

export class CliDriver implements AgentDriver {
  readonly id = 'cli'
  readonly capabilities = cliCapabilities

  constructor(
    private readonly config: Config,
    private readonly serverEnv: NodeJS.ProcessEnv = process.env,
    private readonly runner: ProcessRunner = localRunner,
  ) {
    this.geminiHome = geminiHome(config, serverEnv)
  }

  private readonly resolved = new Map<string, string>()
  /** The gateway's Gemini home, as the gemini driver's (gemini on /run uses it unless the request names its own). */
  private readonly geminiHome: string
  private geminiSettingsReady: Promise<void> | undefined

  /** Writes the home's settings once (gemini/home.ts); the failure's message, if it failed (tried again next run). */
  private async geminiSettings(home: string): Promise<string | null> {
    this.geminiSettingsReady ??= ensureGeminiSettings(home)
    try {
      await this.geminiSettingsReady
      return null
    } catch (error) {
      this.geminiSettingsReady = undefined
      return `cannot write Gemini settings under ${home}: ${(error as Error).message}`
    }
  }

  /** The executable for an allowlisted CLI name (found ones are cached), or null when it is not installed. */
  resolve(cli: string): string | null {
    const cached = this.resolved.get(cli)
    if (cached) return cached
    const found =
      cli === 'codex'
        ? resolveCodexBinary(this.config.CODEX_PATH)
        : findOnPath(cli, `${packageBin}${path.delimiter}${this.serverEnv.PATH ?? ''}`)
    if (found) this.resolved.set(cli, found)
    return found
  }

  async probe(): Promise<AgentStatus> {
    const missing = this.config.CLI_LIST.filter((cli) => this.resolve(cli) === null)
    return {
      id: this.id,
      installed: missing.length === 0,
      version: null,
      authenticated: true,
      hint: missing.length ? `not installed: ${missing.join(', ')}` : null,
      binary: null,
    }
  }

  async *run(req: RunRequest, signal: AbortSignal): AsyncGenerator<AgentEvent> {
    const raw = req.raw
    // in a container the cli is the executable inside the image: it need not exist on this host
    const inContainer = req.isolation === 'container'
    const binary = raw ? (inContainer ? raw.cli : this.resolve(raw.cli)) : null
    if (!raw || !binary) {
      yield { type: 'run.started', agent: this.id }
      yield runNotStarted(raw ? `${raw.cli}: not installed` : 'the cli driver needs a command (raw)')
      return
    }
    const isCodex = raw.cli === 'codex'
    // in a container, codex reads the images' copies where the container mounts them
    const images = placedImages(req.images, inContainer)
    const exec = isCodex
      ? attachExecInputs(raw.args, { ...req, images: images.paths })
      : { args: raw.args, files: [] }
    if (!exec) {
      yield { type: 'run.started', agent: this.id }
      yield runNotStarted('images and an output schema go only with a `codex exec` command')
      return
    }
    let args = isCodex
      ? [
          // a container's codex is its own, confined by the container
          ...(inContainer ? [] : readProfileOverrides(this.config, binary)),
          ...codexProviderArgs(this.config, this.runner, this.serverEnv),
          ...codexModelArgs(this.config),
          ...(inContainer ? exec.args : confinedCodexArgs(this.config, exec.args)),
        ]
      : claudeArgs(this.config, raw.cli, inContainer ? dockerModeArgs(raw.cli, raw.args) : raw.args)
    let env = {
      ...baseChildEnv(this.serverEnv),
      ...(isCodex ? codexEnv(this.config, this.serverEnv, this.runner) : {}),
      ...(inContainer ? dockerModeEnv(this.config, raw.cli, raw.args, raw.env) : raw.env),
    }
    const mounts = isCodex ? [this.config.CODEX_HOME, ...images.mounts] : []
    let marker: string | undefined
    if (path.basename(raw.cli) === 'gemini') {
      marker = newMarker()
      const host = { serverEnv: this.serverEnv, access: this.runner, home: this.geminiHome, marker }
      const gemini = geminiRunLaunch(this.config, raw, env, inContainer ? null : host)
      if (gemini.home) {
        const failed = await this.geminiSettings(gemini.home)
        if (failed) {
          yield { type: 'run.started', agent: this.id }
          yield runNotStarted(failed)
          return
        }
        mounts.push(gemini.home)
      }
      args = gemini.args
      env = gemini.env
    }
    yield* runProcess(
      {
        agent: this.id,
        runner: this.runner,
        spawn: {
          command: binary,
          args,
          cwd: req.cwd,
          env,
          ...(exec.files.length ? { files: exec.files } : {}),
          // a raw command may write where it runs, as it does on the host
          ...placed(req, raw.cli, mounts, true),
          stdin: raw.stdin ?? null,
          timeoutMs: req.timeoutMs ?? null,
          killGraceMs: this.config.KILL_GRACE_MS,
          // a daemon the command starts in a session of its own (`setsid cmd >/dev/null &`) ends after the run
          // (marked-processes.ts: batched, the scan in the spawn host, so 500 fast runs ending cost no loop time)
          sweepLeftovers: true,
          ...(marker ? { marker } : {}),
        },
        stdout: { mode: 'text' },
        ...(isCodex ? { stderrFilter: codexStartupNoiseFilter() } : {}),
      },
      signal,
    )
  }
}
