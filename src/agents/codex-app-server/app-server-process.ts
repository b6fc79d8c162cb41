import type { Readable, Writable } from 'node:stream'
import { z } from 'zod'
import type { Config } from '../../config/load.js'
import type { EscapeScope } from '../../process/escaped-processes.js'
import { readLines } from '../../process/lines.js'
import { localRunner } from '../../process/local-runner.js'
import type { LaunchSpec, ProcessRunner, RunningProcess } from '../../process/runner.js'
import { overlongAnswer } from '../../protocol/agent-overlong-answer.js'
import { AppError } from '../../protocol/errors.js'
import { codexInstallHint } from '../codex/probe.js'
import { resolveCodexBinary } from '../codex-binary.js'
import { HeldOutput } from '../held-output.js'
import { appServerLaunch } from './app-server-launch.js'
import { codexHomeOf } from './config-files.js'
import { describeExit, StderrTail } from './exit-reason.js'
import type { ClientRequest } from './generated/ClientRequest.js'
import { historyAnswers, overlongHint } from './history-answers.js'
import { IncludeOnlyReader } from './include-only-reader.js'
import { optedOutNotifications } from './opted-out-notifications.js'
import { type NotificationHandler, type RequestHandler, RpcPeer, type UnknownHandler } from './rpc.js'
import { RpcClosedError, RpcOverlongAnswerError, RpcResponseError } from './rpc-errors.js'

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
  /**
   * Time limit of requests that do not pass their own. Default: `config.CODEX_REQUEST_TIMEOUT`, read at each request
   * (a changed setting holds for the next request: the tests lower it).
   */
  requestTimeoutMs?: number
  onUnknown?: UnknownHandler
  /** Each line the process writes to stderr (its log). */
  onStderr?: (line: string) => void
  /** Where the process runs (default: a local process group). */
  runner?: ProcessRunner
  /** Runs it in a container of the runner (a session's own app-server): image, labels, mounts. */
  placement?: Pick<LaunchSpec, 'isolation' | 'image' | 'labels' | 'program' | 'mounts' | 'writableCwd'>
  /**
   * Where a thread's `include_only` comes from (its cwd's, keeping the markers); default: a reader of its own
   * that asks this process. CodexDriver shares one with `codex exec` runs.
   */
  includeOnly?: IncludeOnlyReader
}

/** What `initialize` told about the server (the fields the gateway uses). */
const initializeResponse = z.looseObject({ userAgent: z.string(), codexHome: z.string() })
export type AppServerInfo = z.infer<typeof initializeResponse>

/** The thread methods whose `config` decides the environment of the thread's commands. */
const threadOpenings = new Set<string>(['thread/start', 'thread/resume', 'thread/fork'])

interface Connection {
  peer: RpcPeer
  info: AppServerInfo
  generation: number
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
  /**
   * Its output read and not taken by its turns' readers, across restarts: past the bound its stdout is not read
   * (RpcPeer `held`), so it blocks on its write while its turns' events wait for the store.
   */
  readonly held = new HeldOutput()
  private running: Running | undefined
  private closed = false
  private readonly notificationHandlers = new Set<NotificationHandler>()
  private readonly exitHandlers = new Set<ExitHandler>()
  private requestHandler: RequestHandler | undefined
  private spawned = 0
  private readonly includeOnly: IncludeOnlyReader

  constructor(private readonly options: AppServerProcessOptions) {
    this.binary = resolveCodexBinary(options.config.CODEX_PATH)
    this.includeOnly =
      options.includeOnly ??
      new IncludeOnlyReader(
        (cwd) => this.request('config/read', { cwd }),
        options.codexHome ?? codexHomeOf(options.config, options.serverEnv),
      )
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
   * nothing when no process runs (the sweep after its end covered its leftovers). Resolves once none is left.
   */
  endEscaped(scope: () => EscapeScope | undefined): Promise<void> {
    return this.running?.proc.endEscaped?.(scope) ?? Promise.resolve()
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
    const { peer, generation } = await this.connection()
    // after the connection: a reader that asks this process finds it running
    const sent = threadOpenings.has(method) ? await this.keepingMarkers(params) : params
    try {
      const result = await peer.request(method, sent, timeoutMs ?? this.timeoutMs)
      return { result, generation }
    } catch (err) {
      // codex refusing what it was asked is the caller's mistake (400), not the gateway's (500)
      if (err instanceof RpcResponseError && invalidRequestCodes.has(err.code))
        throw new AppError('invalid_request', err.message, undefined, { cause: err })
      if (err instanceof RpcOverlongAnswerError)
        throw new AppError('agent_failed', err.message, overlongAnswer(err), { cause: err })
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
    return this.options.requestTimeoutMs ?? this.options.config.CODEX_REQUEST_TIMEOUT * 1000
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
      // a thread's history may come on a line longer than the 8 MiB read of any other (history-answers.ts)
      maxAnswerChars: this.options.config.CODEX_HISTORY_MAX_BYTES,
      largeAnswers: historyAnswers,
      overlongHint,
      held: this.held,
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
      capabilities: {
        experimentalApi: true,
        requestAttestation: false,
        optOutNotificationMethods: [...optedOutNotifications],
      },
    }
    const answer = initializeResponse.safeParse(await peer.request('initialize', params, this.timeoutMs))
    if (!answer.success)
      throw new Error(`${name}: unexpected initialize response: ${z.prettifyError(answer.error)}`)
    peer.notify('initialized')
    return { peer, info: answer.data, generation }
  }

  /**
   * A thread's params with the `include_only` of its cwd (codex's effective one there, a trusted project's
   * `.codex/config.toml` included) keeping the markers, when it would drop them (command-markers.ts). A thread
   * opened without a cwd runs in the process's.
   */
  private async keepingMarkers<P>(params: P): Promise<P> {
    const cwd = (params as { cwd?: string | null }).cwd ?? this.options.cwd
    const includeOnly = await this.includeOnly.keepingMarkers(cwd)
    return includeOnly ? withConfig(params, { 'shell_environment_policy.include_only': includeOnly }) : params
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
