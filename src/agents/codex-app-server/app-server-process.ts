import type { Readable, Writable } from 'node:stream'
import { z } from 'zod'
import type { Config } from '../../config/load.js'
import type { EscapeScope } from '../../process/escaped-processes.js'
import { readLines } from '../../process/lines.js'
import { localRunner } from '../../process/local-runner.js'
import type { LaunchSpec, ProcessRunner, RunningProcess } from '../../process/runner.js'
import { AppError } from '../../protocol/errors.js'
import { includeOnlyKeepingMarkers } from '../codex/command-markers.js'
import { codexInstallHint } from '../codex/probe.js'
import { resolveCodexBinary } from '../codex-binary.js'
import { appServerLaunch } from './app-server-launch.js'
import { describeExit, StderrTail } from './exit-reason.js'
import type { ClientRequest } from './generated/ClientRequest.js'
import { type NotificationHandler, type RequestHandler, RpcPeer, type UnknownHandler } from './rpc.js'
import { RpcClosedError, RpcResponseError } from './rpc-errors.js'

/** Every method a client may call, and the params the pinned codex expects for it. */
/** JSON-RPC codes for an invalid request and invalid params. */
const invalidRequestCodes = new Set([-32600, -32602])

export type ClientMethod = ClientRequest['method']
export type ParamsOf<M extends ClientMethod> = Extract<ClientRequest, { method: M }>['params']

/** Called once per process that ended, with why (an RpcClosedError naming the exit) and its generation. */
export type ExitHandler = (error: RpcClosedError, generation: number) => void

export interface AppServerProcessOptions {
  config: Config
  serverEnv?: NodeJS.ProcessEnv
  /** `clientInfo.name` of `initialize`; codex records it as the thread's originator. */
  clientName: string
  clientVersion?: string
  /** Working directory of the process (each thread sets its own cwd). */
  cwd: string
  /** The CODEX_HOME this process serves (default: config.CODEX_HOME). */
  codexHome?: string
  /** Time limit of requests that do not pass their own (default 30 s). */
  requestTimeoutMs?: number
  onUnknown?: UnknownHandler
  /** Each line the process writes to stderr (its log). */
  onStderr?: (line: string) => void
  /** Where the process runs (default: a local process group). */
  runner?: ProcessRunner
  /** Runs it in a container of the runner (a session's own app-server): image, labels, mounts. */
  placement?: Pick<LaunchSpec, 'isolation' | 'image' | 'labels' | 'program' | 'mounts' | 'writableCwd'>
}

/** What `initialize` told about the server (the fields the gateway uses). */
const initializeResponse = z.looseObject({ userAgent: z.string(), codexHome: z.string() })
export type AppServerInfo = z.infer<typeof initializeResponse>

/** The part of `config/read` the gateway reads: the effective `shell_environment_policy.include_only`. */
const environmentPolicy = z.looseObject({
  config: z.looseObject({
    shell_environment_policy: z.looseObject({ include_only: z.array(z.string()).nullish() }).nullish(),
  }),
})

/** The thread methods whose `config` decides the environment of the thread's commands. */
const threadOpenings = new Set<string>(['thread/start', 'thread/resume', 'thread/fork'])

interface Connection {
  peer: RpcPeer
  info: AppServerInfo
  generation: number
  /** The `include_only` every thread opened on this process gets so its commands keep the markers, if any. */
  includeOnly: string[] | undefined
}

interface Running {
  proc: RunningProcess
  /** 1 for the first process, +1 for each restart: tells which process a thread was loaded into. */
  generation: number
  /** Settles once `initialize` answered and `initialized` was sent. */
  ready: Promise<Connection>
}

const name = 'codex app-server'

/**
 * One long-lived `codex app-server` for one CODEX_HOME, started on the first call and again on the next call
 * after it died. Configured like `codex exec`: the provider as `-c` overrides, the same allowlisted env.
 */
export class AppServerProcess {
  readonly binary: string | null
  private running: Running | undefined
  private closed = false
  private readonly notificationHandlers = new Set<NotificationHandler>()
  private readonly exitHandlers = new Set<ExitHandler>()
  private requestHandler: RequestHandler | undefined
  private spawned = 0

  constructor(private readonly options: AppServerProcessOptions) {
    this.binary = resolveCodexBinary(options.config.CODEX_PATH)
  }

  /** The pid of the running process, if one is running. */
  get pid(): number | undefined {
    return this.running?.proc.pid
  }

  /** The generation of the running process, if one is running (see `send`). */
  get generation(): number | undefined {
    return this.running?.generation
  }

  /**
   * Ends what escaped the running process's tree and works inside the scope (see RunningProcess.endEscaped);
   * nothing when no process runs (the sweep after its end covered its leftovers).
   */
  endEscaped(scope: () => EscapeScope | undefined): void {
    this.running?.proc.endEscaped?.(scope)
  }

  /**
   * The operator's effective `include_only` with the markers' names added (command-markers.ts), undefined
   * when it keeps them anyway; starts the process if none runs.
   */
  async includeOnlyKeepingMarkers(): Promise<string[] | undefined> {
    return (await this.connection()).includeOnly
  }

  /** Starts the process if none runs; resolves with what its `initialize` answered. */
  async start(): Promise<AppServerInfo> {
    return (await this.connection()).info
  }

  /** Sends a request, starting the process first when none runs. */
  async request<M extends ClientMethod>(
    method: M,
    params: ParamsOf<M>,
    timeoutMs?: number,
  ): Promise<unknown> {
    return (await this.send(method, params, timeoutMs)).result
  }

  /** Like `request`, and says which process generation answered (a restarted process forgot its threads). */
  async send<M extends ClientMethod>(
    method: M,
    params: ParamsOf<M>,
    timeoutMs?: number,
  ): Promise<{ result: unknown; generation: number }> {
    const { peer, generation, includeOnly } = await this.connection()
    try {
      const sent =
        includeOnly && threadOpenings.has(method)
          ? withConfig(params, { 'shell_environment_policy.include_only': includeOnly })
          : params
      const result = await peer.request(method, sent, timeoutMs ?? this.timeoutMs)
      return { result, generation }
    } catch (err) {
      // codex refusing what it was asked is the caller's mistake (400), not the gateway's (500)
      if (err instanceof RpcResponseError && invalidRequestCodes.has(err.code))
        throw new AppError('invalid_request', err.message, undefined, { cause: err })
      throw err
    }
  }

  /** Listens to process exits (crash, kill, close); returns a function that stops listening. */
  onExit(handler: ExitHandler): () => void {
    this.exitHandlers.add(handler)
    return () => this.exitHandlers.delete(handler)
  }

  /** Listens to the server's notifications, across restarts; returns a function that stops listening. */
  onNotification(handler: NotificationHandler): () => void {
    this.notificationHandlers.add(handler)
    return () => this.notificationHandlers.delete(handler)
  }

  /** Answers the server's requests (approvals): the result, or thrown error, becomes the response. */
  onRequest(handler: RequestHandler | undefined): void {
    this.requestHandler = handler
  }

  /** Ends the process group and rejects what is pending; later calls fail. */
  async close(): Promise<void> {
    this.closed = true
    const running = this.running
    this.running = undefined
    if (!running) return
    running.proc.terminate('shutdown')
    await running.proc.done
    // the exit handler has closed the connection; this only covers a process that never started
    await running.ready.catch(() => {})
  }

  private get timeoutMs(): number {
    return this.options.requestTimeoutMs ?? 30_000
  }

  private connection(): Promise<Connection> {
    if (this.closed) return Promise.reject(new RpcClosedError(`${name} was closed`))
    try {
      this.running ??= this.spawn()
    } catch (err) {
      return Promise.reject(err)
    }
    return this.running.ready
  }

  private spawn(): Running {
    if (!this.binary) throw new AppError('agent_not_installed', codexInstallHint)
    const spec = appServerLaunch(this.binary, this.options)
    const generation = ++this.spawned
    const proc = (this.options.runner ?? localRunner).start(spec)
    const stderr = new StderrTail()
    void (async () => {
      for await (const line of readLines(proc.stderr)) {
        stderr.push(line)
        this.options.onStderr?.(line)
      }
    })().catch(() => {})
    const exited = proc.done.then((outcome) => new RpcClosedError(describeExit(name, outcome, stderr)))

    const ready: Promise<Connection> = proc.started.then((pid) => {
      if (pid === undefined) return exited.then((error) => Promise.reject(error))
      if (!proc.stdin) {
        proc.terminate('cancelled')
        throw new Error(`the runner closed the stdin of ${name}: it must honour stdin keepOpen`)
      }
      const peer = this.connect(proc.stdout, proc.stdin)
      void exited.then((error) => peer.close(error))
      return this.initialize(peer, generation)
    })
    const running: Running = { proc, ready, generation }
    void exited.then((error) => {
      if (this.running === running) this.running = undefined
      for (const handler of this.exitHandlers) {
        try {
          handler(error, generation)
        } catch {
          // a failing listener must not keep the others from hearing about the exit
        }
      }
    })
    ready.catch(() => {
      // a process that cannot be initialized is not kept: the next call starts a new one
      if (this.running === running) this.running = undefined
      proc.terminate('cancelled')
    })
    return running
  }

  private connect(stdout: Readable, stdin: Writable): RpcPeer {
    const peer = new RpcPeer({
      input: stdout,
      output: stdin,
      name,
      ...(this.options.onUnknown ? { onUnknown: this.options.onUnknown } : {}),
      // the exit closes the connection, with the reason (see spawn)
      onInputEnd: () => {},
    })
    peer.onNotification((method, params) => this.fanOut(method, params))
    peer.onRequest((method, params, id) => {
      if (!this.requestHandler) throw new Error(`the gateway has no handler for ${method}`)
      return this.requestHandler(method, params, id)
    })
    return peer
  }

  private async initialize(peer: RpcPeer, generation: number): Promise<Connection> {
    const params: ParamsOf<'initialize'> = {
      clientInfo: {
        name: this.options.clientName,
        title: null,
        version: this.options.clientVersion ?? '0.0.0',
      },
      // experimentalApi: for thread/backgroundTerminals/clean (a one-shot run's commands end with the run)
      capabilities: { experimentalApi: true, requestAttestation: false },
    }
    const answer = initializeResponse.safeParse(await peer.request('initialize', params, this.timeoutMs))
    if (!answer.success)
      throw new Error(`${name}: unexpected initialize response: ${z.prettifyError(answer.error)}`)
    peer.notify('initialized')
    return { peer, info: answer.data, generation, includeOnly: await this.includeOnly(peer) }
  }

  /**
   * The operator's `include_only` (codex's effective config: config.toml, profiles, `-c`) would drop the
   * markers from every command's environment (command-markers.ts): each thread gets it with their names added.
   */
  private async includeOnly(peer: RpcPeer): Promise<string[] | undefined> {
    const answer = await peer.request('config/read', {}, this.timeoutMs).catch(() => undefined)
    const read = environmentPolicy.safeParse(answer)
    const includeOnly = read.data?.config.shell_environment_policy?.include_only ?? []
    const keep = includeOnlyKeepingMarkers(includeOnly)
    if (keep)
      process.emitWarning(
        `codex shell_environment_policy.include_only (${JSON.stringify(includeOnly)}) would drop the gateway's ` +
          'process markers from the commands codex runs: its threads and exec runs get it with them added',
        { code: 'AGENT_GATEWAY_CODEX_INCLUDE_ONLY' },
      )
    return keep
  }

  private fanOut(method: string, params: unknown): void {
    for (const handler of this.notificationHandlers) {
      try {
        handler(method, params)
      } catch (err) {
        this.options.onUnknown?.(
          JSON.stringify({ method }),
          `notification handler failed: ${(err as Error).message}`,
        )
      }
    }
  }
}

/** `params` with `extra` merged into its `config` (the thread's overrides), extra last. */
function withConfig<P>(params: P, extra: { [key: string]: unknown }): P {
  if (Object.keys(extra).length === 0) return params
  const config = (params as { config?: { [key: string]: unknown } | null }).config ?? {}
  return { ...params, config: { ...config, ...extra } }
}
