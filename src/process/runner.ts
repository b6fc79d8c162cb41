import { randomBytes } from 'node:crypto'
import type { Readable, Writable } from 'node:stream'
import type { EndReason } from '../protocol/outcome.js'
import type { EscapeScope } from './escaped-processes.js'
import type { ModelProvider } from './key-proxy/provider-auth.js'

/**
 * The process-runner port: the one way agent-gateway starts a program. A driver describes what to launch as
 * data (a LaunchSpec); a runner starts it somewhere (a local process group, a container), streams its
 * stdio, ends its whole tree and sweeps what it left. Nothing outside src/process spawns, signals or reads /proc.
 */

/**
 * How stdin is fed: a string is written then closed; `null`/absent closes it at once (codex exec waits on an
 * open stdin); `{ keepOpen: true }` leaves it open for a long-lived peer (codex app-server, ACP agents).
 */
export type StdinMode = string | null | { keepOpen: true }

/** A file the runner writes before the start and removes after the end; `args` name it with `stagedPath`. */
export interface StagedFile {
  /** A plain file name (no directories). */
  name: string
  content: string
}

/**
 * Where a run's files are staged, as args spell it; each runner substitutes the real directory. Random per process
 * (as the key proxy's placeholders): a request's own `{{staged}}` in a prompt stays as it was written.
 */
export const stagedDirToken = `{{staged:${randomBytes(16).toString('hex')}}}`

/** The path of a staged file as it appears in args (`--output-schema {{staged}}/schema.json`). */
export const stagedPath = (name: string): string => `${stagedDirToken}/${name}`

/** What to launch: data only, the same for every runner. */
export interface LaunchSpec {
  command: string
  args: string[]
  cwd: string
  env: NodeJS.ProcessEnv
  stdin?: StdinMode
  timeoutMs?: number | null
  /** SIGTERM first, SIGKILL after this many ms. */
  killGraceMs: number
  /** Aborting ends the whole tree; `signal.reason` may be an EndReason (default: cancelled). */
  signal?: AbortSignal
  files?: StagedFile[]
  /**
   * The program starts helpers in sessions of their own that can outlive it (codex app-server): once it
   * ended, the runner ends whatever it left anywhere.
   */
  sweepLeftovers?: boolean
  /**
   * The value a runner that marks (`sweepLeftovers`) marks the program with (marked-processes.ts); default: a
   * new one. Given by a launch that also hands it to the program itself (codex: its commands' environment
   * policy), so the program's own filtering cannot drop it.
   */
  marker?: string
  /** Whether the program may write in `cwd` (a container mounts it read-write or read-only). */
  writableCwd?: boolean
  /** Recorded on what the runner creates (a container's labels), so leftovers can be found by run. */
  labels?: Record<string, string>
  /** Where to run it: a local process group (default) or a container (see container/). */
  isolation?: Isolation
  /** The image of a container launch (fully qualified); default: the runner's. */
  image?: string
  /** The program's name inside an image when `command` is a host path (default: its basename). */
  program?: string
  /** Directories besides `cwd` the program needs (its home, its config); a container mounts them. */
  mounts?: Mount[]
}

export type Isolation = 'process' | 'container'

export interface Mount {
  /** The directory on the host. */
  path: string
  writable: boolean
  /**
   * Where the container sees it (default: `path`). A directory the gateway made for the launch is mounted at a
   * fixed path (container/bind-mount.ts containerMountRoot), so its host path's characters never reach the agent.
   */
  target?: string
}

/** Outcomes are data: how the process ended and why. */
export interface ProcessOutcome {
  exitCode: number | null
  signal: NodeJS.Signals | null
  reason: EndReason
  durationMs: number
  /** Set when the process could not be started (ENOENT, EACCES, ...). */
  error?: string
}

/** A started program. */
export interface RunningProcess {
  /**
   * The local pid of what was started (for a container: its engine client); undefined until `started`
   * resolved, and if it never started.
   */
  readonly pid: number | undefined
  /**
   * Resolves with the pid once the program runs, undefined if it could not start (`done` says why). A runner
   * may start a program a little later than `start()` returns (the local one spawns off the hot path).
   */
  started: Promise<number | undefined>
  /** Writable only with `stdin: { keepOpen: true }`; already ended otherwise. */
  stdin: Writable
  stdout: Readable
  stderr: Readable
  /** Resolves once the process ended, its stdio closed and its leftovers were swept; never rejects. */
  done: Promise<ProcessOutcome>
  /** End the whole tree, recording `reason` (TERM, then KILL after killGraceMs). Safe to call repeatedly. */
  terminate(reason: EndReason): void
  /**
   * A long-lived program (`sweepLeftovers`) whose run or turn ended while it runs on: ends the commands it
   * started that left its process tree and work inside the scope (escaped-processes.ts says how they are told
   * apart); resolves once none is left (the end of the turn waits for it), never rejects. Absent where nothing
   * can escape unseen (a container ends with its program) or where the runner cannot tell.
   */
  endEscaped?(scope: () => EscapeScope | undefined): Promise<void>
  /**
   * The key proxy's URL and the token of its own this process was lent for `provider` (what its launch's
   * placeholders became: keyed-runner.ts). Absent, or undefined, where it was lent none (no key proxy, a
   * container, a provider its launch did not name).
   */
  lent?(provider: ModelProvider): { url: string; token: string } | undefined
}

/** What a previous server recorded about a process it started, to end it after a crash. */
export interface Leftover {
  pid: number
  command: string
}

/** What /health and /v1/agents tell about a runner. */
export interface ContainerLimits {
  network: string
  memory: string | null
  cpus: string | null
  pidsLimit: number
  user: string
  tmpfsSize: string
  ulimits: string[]
}

export interface RunnerInfo {
  kind: 'local' | 'container'
  /** For containers: the engine (docker, podman, a path) and its version; null when it does not answer. */
  engine?: string
  version?: string | null
  available: boolean
  /** The default image of a container runner (none: containers are not configured). */
  image?: string | null
  /** What every container of a container runner is limited to (the CONTAINER_* settings). */
  limits?: ContainerLimits
  /** For a runner that also starts containers: that engine (null when not configured). */
  container?: RunnerInfo | null
}

export interface ProcessRunner {
  readonly kind: RunnerInfo['kind']
  start(spec: LaunchSpec): RunningProcess
  /**
   * Ends what a crashed predecessor left: the recorded process (only if it is still the program that was
   * started; a pid may have been reused), or, with no record, everything this runner tags as its own.
   */
  reclaim(leftover?: Leftover): Promise<boolean>
  describe(): Promise<RunnerInfo>
  /**
   * Whether launches name `provider`'s key and base URL by placeholder (key-proxy/model-access.ts): a runner
   * that holds the keys (key-proxy/keyed-runner.ts) lends each process a token of its own. Absent: real keys.
   */
  fronts?(provider: ModelProvider): boolean
}

const endReasons = new Set<EndReason>(['timed_out', 'cancelled', 'client_gone', 'shutdown'])

/** An abort's reason when it names an EndReason; anything else is `cancelled`. */
export function abortReason(signal: AbortSignal | undefined): EndReason {
  const r = signal?.reason
  return typeof r === 'string' && endReasons.has(r as EndReason) ? (r as EndReason) : 'cancelled'
}

/**
 * `proc` as a runner hands it out after wrapping it: its own `done` (what the runner does once the process
 * ended), and its own stderr or terminate where it replaces them.
 */
export function wrappedProcess(
  proc: RunningProcess,
  done: Promise<ProcessOutcome>,
  replaced: Partial<Pick<RunningProcess, 'stdout' | 'stderr' | 'terminate' | 'endEscaped' | 'lent'>> = {},
): RunningProcess {
  return {
    get pid() {
      return proc.pid
    },
    started: proc.started,
    stdin: proc.stdin,
    stdout: replaced.stdout ?? proc.stdout,
    stderr: replaced.stderr ?? proc.stderr,
    done,
    terminate: replaced.terminate ?? proc.terminate,
    ...(replaced.endEscaped ? { endEscaped: replaced.endEscaped } : {}),
    ...(replaced.lent ? { lent: replaced.lent } : {}),
  }
}
