import type { Writable } from 'node:stream'
import type {
  ClientConnection,
  InitializeResponse,
  RequestPermissionRequest,
  RequestPermissionResponse,
} from '@agentclientprotocol/sdk'
import { readText } from '../../process/lines.js'
import { notStarted } from '../../process/not-started.js'
import { markerVariable, newMarker } from '../../process/process-marker.js'
import type { LaunchSpec, ProcessOutcome, ProcessRunner, RunningProcess } from '../../process/runner.js'
import type { EndReason } from '../../protocol/outcome.js'
import { settledWithin } from '../../util/settled-within.js'
import { markerOverride } from '../codex/command-markers.js'
import { HeldOutput } from '../held-output.js'
import { TurnDirectories } from '../turn-directories.js'
import type { FsAccess } from './fs-access.js'
import { heldStdout } from './held-stdout.js'
import type { AcpLaunch } from './launch.js'
import { proxyAuthenticateRequest, proxyAuthenticationCapability } from './proxy-authentication.js'
import { acpSdk } from './sdk.js'

/** What a session wires into the connection once it knows its ACP session id. */
export interface AcpPeer {
  /** File access confined to the session's cwd. */
  readonly fs: FsAccess
  update(sessionId: string, update: unknown): void
  permission(params: RequestPermissionRequest, signal: AbortSignal): Promise<RequestPermissionResponse>
}

const stderrTailChars = 4000
/** How long a failed request waits for the process's exit, to report that instead. */
const exitWaitMs = 2000
/** How long an ended agent's stderr is read further before its end is reported. */
const stderrWaitMs = 250

/**
 * One ACP agent process (started by the runner, stdin kept open) and the SDK's client connection over
 * its stdio (newline-delimited JSON-RPC). It may serve several sessions: `session/update`,
 * `session/request_permission` and `fs/*` (confined to that session's cwd) go to the peer of the session
 * they name; the agent gets no terminal capability. The SDK must be loaded first (loadAcpSdk()).
 */
export class AcpProcess {
  readonly proc: RunningProcess
  readonly connection: ClientConnection
  readonly done: Promise<ProcessOutcome>
  /**
   * Its output read and not taken by its turns' readers: past the bound its stdout is not read (heldStdout), so it
   * blocks on its write while its turns' events wait for the store.
   */
  readonly held = new HeldOutput()
  private readonly peers = new Map<string, AcpPeer>()
  private stderrTail = ''
  private ended = false
  private readonly turnDirectories: TurnDirectories

  constructor(
    runner: ProcessRunner,
    readonly launch: AcpLaunch,
  ) {
    // before the process starts: without the SDK there is no connection to give it
    const { client, ndJsonStream } = acpSdk()
    // one per process (a launch is the key of the processes a pool shares, so it carries none)
    const marker = newMarker()
    const spec: LaunchSpec = {
      command: launch.command,
      args: launch.codexMarker ? [...launch.args, ...markerOverride(marker)] : launch.args,
      cwd: launch.cwd,
      env: launch.markerPrefix
        ? { ...launch.env, [`${launch.markerPrefix}${markerVariable}`]: marker }
        : launch.env,
      stdin: { keepOpen: true },
      killGraceMs: launch.killGraceMs,
      ...(launch.timeoutMs ? { timeoutMs: launch.timeoutMs } : {}),
      ...(launch.signal ? { signal: launch.signal } : {}),
      // a warm agent serves many runs and sessions: what its commands leave in sessions of their own is marked,
      // ended when their turn ends (turnBegan) and, at the latest, once the agent ended
      sweepLeftovers: true,
      marker,
      ...launch.placement,
    }
    // a program missing on this host is not spawned: it ends at once, saying so (session-leases.ts)
    const proc = launch.notFound ? notStarted(launch.notFound) : runner.start(spec)
    this.proc = proc
    this.turnDirectories = new TurnDirectories(
      (scope) => proc.endEscaped?.(scope) ?? Promise.resolve(),
      launch.startsHelpers,
    )
    const stderrRead = (async () => {
      for await (const t of readText(proc.stderr))
        this.stderrTail = (this.stderrTail + t).slice(-stderrTailChars)
    })().catch(() => {})
    const stream = ndJsonStream(toWebWritable(proc.stdin), heldStdout(proc.stdout, this.held))
    this.connection = client({ name: 'agent-gateway' })
      // parsed by the session (an update we cannot parse becomes agent.raw instead of being dropped)
      .onNotification('session/update', identity, ({ params }) => {
        const p = params as { sessionId?: unknown; update?: unknown }
        if (typeof p?.sessionId === 'string') this.peers.get(p.sessionId)?.update(p.sessionId, p.update)
      })
      .onRequest('session/request_permission', async ({ params, signal }) => {
        const peer = this.peers.get(params.sessionId)
        if (!peer) return { outcome: { outcome: 'cancelled' } }
        return peer.permission(params, signal)
      })
      .onRequest('fs/read_text_file', async ({ params }) => ({
        content: await this.fsOf(params.sessionId).read(params.path, params.line, params.limit),
      }))
      .onRequest('fs/write_text_file', async ({ params }) => {
        await this.fsOf(params.sessionId).write(params.path, params.content)
        return {}
      })
      .connect(stream)
    this.done = proc.done.then(async (outcome) => {
      // ended at once (no session or lease goes to it now); its last stderr lines say why, and may still be on
      // their way when the exit is known (seen in CI: "not found in image" missing): they are read to the end
      // before the end is reported, but not for long (a child may hold stderr open)
      this.ended = true
      await settledWithin(stderrRead, stderrWaitMs)
      this.connection.close(new Error(this.exitMessage(outcome)))
      return outcome
    })
  }

  /** Routes the session's updates, permission requests and file access to `peer`. */
  attach(sessionId: string, peer: AcpPeer): void {
    this.peers.set(sessionId, peer)
  }

  detach(sessionId: string, peer: AcpPeer): void {
    if (this.peers.get(sessionId) === peer) this.peers.delete(sessionId)
  }

  /** A session we do not serve (any more) reads and writes nothing. */
  private fsOf(sessionId: string): FsAccess {
    const peer = this.peers.get(sessionId)
    if (!peer) throw acpSdk().RequestError.invalidParams({ sessionId }, 'unknown session')
    return peer.fs
  }

  /** A turn in `cwd` runs on this process; the returned function says it ended (TurnDirectories.began). */
  turnBegan(cwd: string): (sweep: boolean) => Promise<void> {
    return this.turnDirectories.began(cwd)
  }

  /** Whether the process has ended (by itself or because it was ended). */
  get exited(): boolean {
    return this.ended
  }

  get pid(): number | undefined {
    return this.proc.pid
  }

  /**
   * `initialize`: our protocol version and capabilities (fs inside the cwd, reads not for an agent that reads
   * itself: launch.ts `readsItself`; no terminal). `_meta.terminal_output`
   * asks agents that know the terminal extension (claude-agent-acp) to report a command's output and exit code.
   * claude-agent-acp on the key proxy is then authenticated at the proxy (proxy-authentication.ts).
   */
  async initialize(): Promise<InitializeResponse> {
    const proxied = this.launch.proxyAuthentication
    try {
      const init = await this.connection.agent.request<InitializeResponse>('initialize', {
        protocolVersion: acpSdk().PROTOCOL_VERSION,
        clientCapabilities: {
          fs: { readTextFile: !this.launch.readsItself, writeTextFile: true },
          terminal: false,
          _meta: { terminal_output: true },
          ...(proxied ? proxyAuthenticationCapability : {}),
        },
        clientInfo: { name: 'agent-gateway', version: '0.1.0' },
      })
      const authenticate = proxied ? proxyAuthenticateRequest(this.proc, proxied, init) : null
      if (authenticate) await this.connection.agent.request('authenticate', authenticate)
      return init
    } catch (err) {
      throw await this.failureOf(err)
    }
  }

  /**
   * What a failed request says best: a connection closes because its process ended (crashed, not in the image),
   * and its stdout may end before its exit is known; then why it ended (with its stderr) is the failure. An
   * error the agent answered stays as it is, at once.
   */
  async failureOf(err: unknown): Promise<unknown> {
    // an error the agent answered is its own word
    if (err instanceof acpSdk().RequestError) return err
    const outcome = await settledWithin(this.done, exitWaitMs)
    return outcome ? new Error(this.exitMessage(outcome)) : err
  }

  /** Why the agent process ended, in words (with the end of its stderr). */
  exitMessage(outcome: ProcessOutcome): string {
    const how =
      outcome.error ??
      (outcome.signal ? `signal ${outcome.signal}` : `exit code ${outcome.exitCode}`) +
        (outcome.reason === 'exited' ? '' : ` (${outcome.reason})`)
    const tail = this.stderrTail.trim().split('\n').slice(-5).join('\n')
    return `${this.launch.command} ended: ${how}${tail ? `\n${tail}` : ''}`
  }

  /**
   * Closes stdin, then ends the group if it is still there after the grace (codex-acp, for one, does not exit
   * at EOF: an ACP agent is a server that runs until it is stopped).
   */
  async close(reason: EndReason = 'cancelled', graceMs = this.launch.killGraceMs): Promise<ProcessOutcome> {
    this.proc.stdin.end()
    const timer = setTimeout(() => this.proc.terminate(reason), graceMs)
    const outcome = await this.done
    clearTimeout(timer)
    return outcome
  }

  /** Ends the whole process group now (TERM, then KILL). */
  terminate(reason: EndReason): Promise<ProcessOutcome> {
    this.proc.terminate(reason)
    return this.done
  }
}

const identity = (params: unknown) => params

/** A web WritableStream over the child's stdin that never throws once the child is gone (EPIPE). */
function toWebWritable(stdin: Writable): WritableStream<Uint8Array> {
  return new WritableStream<Uint8Array>({
    write: (chunk) =>
      new Promise<void>((resolve) => {
        if (stdin.destroyed || stdin.writableEnded) return resolve()
        stdin.write(chunk, () => resolve())
      }),
    close: () => {
      stdin.end()
    },
  })
}
