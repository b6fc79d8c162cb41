import { mkdirSync } from 'node:fs'
import path from 'node:path'
import type { Config } from '../../config/load.js'
import { realCwd } from '../../process/pinned-cwd.js'
import type { ProcessRunner } from '../../process/runner.js'
import { confinedProfile } from '../codex/read-profiles.js'
import { codexHomeOf } from '../codex-app-server/config-files.js'
import { type ClosableConfigRead, configReadVia } from '../codex-app-server/config-read-once.js'
import { IncludeOnlyReader } from '../codex-app-server/include-only-reader.js'
import type { RunRequest } from '../driver.js'
import { ensureGeminiSettings, geminiHome } from '../gemini/home.js'
import type { SessionRequest } from '../session.js'
import { type AcpLease, AcpPool, launchKey } from './acp-pool.js'
import { AcpProcess } from './acp-process.js'
import type { AcpAgentSpec } from './agent-spec.js'
import { type AcpLaunch, type AcpLaunchSettings, acpLaunch } from './launch.js'
import { acpBinary } from './probe.js'
import { acpSdkLoaded, loadAcpSdk } from './sdk.js'

/** Where a session runs: the launch of the process it goes on, whether that process is shared, the session's cwd. */
export interface AcpPlace {
  readonly started: AcpLaunch
  readonly shareable: boolean
  readonly cwd: string
}

/** How long an agent process kept ready for one-shot runs waits for the next one. */
export const warmKeepMs = 300_000

/** The data dir (created when missing), else the system's temp dir. */
function dataDir(dir: string): string {
  try {
    mkdirSync(dir, { recursive: true })
    return realCwd(dir)
  } catch {
    return realCwd()
  }
}

/**
 * Where an agent's sessions run: how a request's agent process is launched, and leases on the processes of
 * its AcpPool (shared by sessions started the same way, up to ACP_SESSIONS_PER_PROCESS each; warm ones kept
 * ready for one-shot runs).
 */
export class AcpLeases {
  private readonly pool: AcpPool
  /**
   * codex-acp: codex's `include_only` in a session's cwd keeping the markers, read through a short-lived
   * codex app-server (the same CODEX_HOME and `-c` overrides) and passed as `-c` (command-markers.ts).
   */
  readonly includeOnly: IncludeOnlyReader | undefined
  /** The reads behind `includeOnly`, whose short-lived app-servers still running `close` ends. */
  private readonly configReads: ClosableConfigRead | undefined

  constructor(
    private readonly config: Config,
    private readonly spec: AcpAgentSpec,
    private readonly serverEnv: NodeJS.ProcessEnv,
    private readonly runner: ProcessRunner,
    keepMs = warmKeepMs,
  ) {
    this.pool = new AcpPool(config.ACP_SESSIONS_PER_PROCESS, keepMs)
    this.configReads =
      spec.flavor === 'codex-acp'
        ? configReadVia({
            config,
            serverEnv,
            runner,
            clientName: 'agent-gateway',
            cwd: dataDir(config.DATA_DIR),
            requestTimeoutMs: config.CODEX_REQUEST_TIMEOUT * 1000,
          })
        : undefined
    this.includeOnly = this.configReads
      ? new IncludeOnlyReader(this.configReads.read, codexHomeOf(config, serverEnv))
      : undefined
  }

  /** Agent processes sessions share now. */
  get sharedProcesses(): number {
    return this.pool.sharedProcesses
  }

  /**
   * How the agent process of `req` is started (its cwd, model, sandbox, approval policy, placement, and for
   * codex-acp on this host the `include_only` of its cwd).
   */
  async launch(req: SessionRequest | RunRequest, extra: Partial<AcpLaunchSettings> = {}): Promise<AcpLaunch> {
    const command = this.spec.command ?? `${this.spec.name} (not installed)`
    // a program missing on this host fails at once, before anything else starts (codex-acp: the app-server
    // reading its config); in a container the agent is the image's program
    const local = req.isolation !== 'container'
    const notFound = local && this.missing() ? `${command}: not found` : undefined
    // gemini: the gateway's Gemini home starts with its settings (API-key auth, no telemetry or update checks)
    if (this.spec.flavor === 'gemini' && !notFound)
      await ensureGeminiSettings(geminiHome(this.config, this.serverEnv))
    const includeOnly = local && !notFound ? await this.includeOnly?.keepingMarkers(req.cwd) : undefined
    const launch = acpLaunch({ ...this.spec, command }, this.config, this.serverEnv, {
      cwd: req.cwd,
      access: this.runner,
      ...(req.model ? { model: req.model } : {}),
      ...(req.sandbox ? { sandbox: req.sandbox } : {}),
      ...('approvalPolicy' in req && req.approvalPolicy ? { approvalPolicy: req.approvalPolicy } : {}),
      ...(req.isolation === 'container' ? { placement: req } : {}),
      ...(includeOnly ? { includeOnly } : {}),
      ...extra,
    })
    return notFound ? { ...launch, notFound } : launch
  }

  /**
   * Whether the agent's program is surely not on this host: no command, or an absolute path or a name on PATH
   * that is not there (a relative path is left to the spawn: it is resolved in the process's cwd).
   */
  private missing(): boolean {
    const command = this.spec.command
    if (command && !path.isAbsolute(command) && command.includes('/')) return false
    return acpBinary(this.spec, this.serverEnv) === null
  }

  /**
   * A session's place on an agent process. A shared process runs in the data dir, outside every session's
   * workspace (each session names its own cwd), like the codex app-server, except under workspace-write:
   * codex-acp's sandbox makes the process's cwd writable, not the session's, so such sessions share a
   * process only with sessions of the same cwd, and the process runs there; so do codex-acp's read-only
   * sessions when reads are confined (CODEX_CONFINE_READS): its profile lets commands read the process's cwd.
   */
  async place(req: SessionRequest | RunRequest, extra: Partial<AcpLaunchSettings> = {}): Promise<AcpPlace> {
    const launch = await this.launch(req, extra)
    const shareable = !launch.placement && this.config.ACP_SESSIONS_PER_PROCESS > 1
    const sandbox = req.sandbox ?? this.config.CODEX_SANDBOX
    // codex-acp's read-confining profile (read-profiles.ts) lets its commands read the process's cwd alone
    const readsCwd = this.spec.flavor === 'codex-acp' && confinedProfile(this.config, sandbox) !== undefined
    const ownCwd = sandbox === 'workspace-write' || readsCwd
    const started = shareable && !ownCwd ? { ...launch, cwd: dataDir(this.config.DATA_DIR) } : launch
    return { started, shareable, cwd: req.cwd }
  }

  /** A lease at `req`'s place (see `place`). */
  async lease(req: SessionRequest | RunRequest, extra: Partial<AcpLaunchSettings> = {}): Promise<AcpLease> {
    return this.leaseAt(await this.place(req, extra))
  }

  /**
   * A lease at a place computed once by `place` (a one-shot run asks three things of the same place). A
   * `warm` process stays ready for the next one-shot run after its last lease.
   */
  leaseAt({ started, shareable }: AcpPlace, warm = false): Promise<AcpLease> {
    const lease = () => this.pool.lease(started, shareable, () => new AcpProcess(this.runner, started), warm)
    // the SDK is loaded with the first process (synchronous from then on, as before)
    return acpSdkLoaded() ? lease() : loadAcpSdk().then(lease)
  }

  /**
   * What fixes a session opened ahead of time for a one-shot run at `place` on a warm process (its launch and
   * the session's cwd); null when such runs get no shared process.
   */
  warmKey({ started, shareable, cwd }: AcpPlace): string | null {
    return shareable ? JSON.stringify([launchKey(started, true), cwd]) : null
  }

  /** Whether the warm process runs at `place` would take now has room for one more session. */
  warmRoom({ started }: AcpPlace): boolean {
    return this.pool.hasRoom(started, true)
  }

  /** A lease on `agent`, a process of the caller's own (shared with nobody, ended with the lease). */
  own(agent: AcpProcess): Promise<AcpLease> {
    return this.pool.lease(agent.launch, false, () => agent)
  }

  /** A process of its own for `launch`, not started yet by anyone else (the SDK loaded: loadAcpSdk()). */
  spawn(launch: AcpLaunch): AcpProcess {
    return new AcpProcess(this.runner, launch)
  }

  /**
   * Ends the processes kept ready for one-shot runs (shutdown) and the app-servers of `config/read`s in flight;
   * sessions end their own.
   */
  async close(): Promise<void> {
    await Promise.all([this.pool.close(), this.configReads?.close()])
  }
}
