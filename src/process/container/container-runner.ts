import { randomBytes } from 'node:crypto'
import { chmodSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import type { EndReason } from '../../protocol/outcome.js'
import { notStarted } from '../not-started.js'
import { realCwd } from '../pinned-cwd.js'
import {
  abortReason,
  type LaunchSpec,
  type Leftover,
  type ProcessOutcome,
  type ProcessRunner,
  type RunnerInfo,
  type RunningProcess,
  stagedDirToken,
  wrappedProcess,
} from '../runner.js'
import { spawnGroup } from '../spawn-group.js'
import { makeStagedDir, removeStagedDir } from '../staged-dirs.js'
import { mountSyntax, unmountableReason } from './bind-mount.js'
import { type ContainerOptions, instanceLabel } from './container-options.js'
import { engineCommand } from './engine.js'
import { keptLogFile, missedOutput, readKeptOutput } from './kept-output.js'
import { containerRunArgs, containerStaged } from './run-args.js'

const stderrTailChars = 4000

/** How soon an engine that did not answer /health's question is asked again. */
const unavailableRecheckMs = 5_000

/**
 * The second ProcessRunner: every launch runs in a fresh container (`<engine> run --rm -i`), named and
 * labelled so it can always be found again. Ending it goes through the engine (`stop`, then `rm -f`): killing
 * the `run` client alone would leave the container running. At start, `reclaim()` removes every container a
 * crashed predecessor with the same instance label left.
 */
export class ContainerProcessRunner implements ProcessRunner {
  readonly kind = 'container'

  private described: { at: number; info: Promise<RunnerInfo>; available?: boolean } | undefined

  constructor(readonly options: ContainerOptions) {}

  /**
   * podman's CLI removes a `--rm` container itself; docker's asks the daemon (AutoRemove), which a daemon
   * may not honour (podman's Docker API leaves it exited): with any engine but podman, remove it explicitly.
   */
  private get cliRemoves(): boolean {
    return path.basename(this.options.engine).startsWith('podman')
  }

  /**
   * `rm --force` of a container that still runs: what is removed here was ended already (or its client or its
   * gateway died), so it is killed at once. podman otherwise first waits its stop timeout (10 s) per container
   * for a program that ignores SIGTERM as pid 1 (`sleep`); docker's `rm --force` kills at once by itself.
   */
  private get forceRemove(): string[] {
    return this.cliRemoves ? ['rm', '--force', '--time', '0'] : ['rm', '--force']
  }

  start(spec: LaunchSpec): RunningProcess {
    const started = performance.now()
    const image = spec.image ?? this.options.image
    if (!image) return notStarted('no container image configured (CONTAINER_IMAGE)', started)
    const syntax = mountSyntax(this.options.engine)
    const refused = [
      unmountableReason(spec.cwd, 'cwd', syntax),
      ...(spec.mounts ?? []).flatMap((m) => [
        unmountableReason(m.path, 'mount', syntax),
        m.target ? unmountableReason(m.target, 'mount target', syntax) : undefined,
      ]),
    ].find(Boolean)
    if (refused) return notStarted(refused, started)
    let staging: string | undefined
    let args = spec.args
    if (spec.files?.length) {
      staging = makeStagedDir()
      // readable by the container's unprivileged user (staged files are inputs such as a schema, not secrets)
      chmodSync(staging, 0o755)
      for (const file of spec.files)
        writeFileSync(path.join(staging, path.basename(file.name)), file.content, { mode: 0o644 })
      // the agent sees them where the container mounts them, whatever the host's temp dir is called
      args = args.map((a) => a.replaceAll(stagedDirToken, containerStaged))
    }
    const name = `agw-${this.options.instance}-${randomBytes(6).toString('hex')}`
    // podman: the container's output kept in a file of this launch's own, to make up for what `run` loses
    const logDir = this.cliRemoves ? makeStagedDir() : undefined
    const keptLog = logDir && keptLogFile(logDir)
    const removeDirs = () => {
      if (staging) removeStagedDir(staging)
      if (logDir) removeStagedDir(logDir)
    }
    let run: ReturnType<typeof containerRunArgs>
    try {
      run = containerRunArgs({ ...spec, args }, this.options, name, image, staging, keptLog)
    } catch (err) {
      // a staging directory whose path the engine cannot mount (TMPDIR's); the others were refused above
      removeDirs()
      return notStarted((err as Error).message, started)
    }
    const client = spawnGroup({
      command: this.options.engine,
      args: run.args,
      cwd: realCwd(),
      env: run.clientEnv,
      killGraceMs: 1000,
      ...(spec.stdin !== undefined ? { stdin: spec.stdin } : {}),
    })

    // The client's output, passed on and counted: the streams end once the client ended and what the engine kept
    // beyond it (a container that ended by itself) was passed on too. The engine reports its own failures on
    // stderr: its end is kept for the outcome.
    let stderrTail = ''
    const stdout = new PassThrough()
    const stderr = new PassThrough()
    const delivered = { stdout: 0, stderr: 0 }
    client.stdout.on('data', (chunk: Buffer) => {
      delivered.stdout += chunk.length
    })
    client.stderr.on('data', (chunk: Buffer) => {
      delivered.stderr += chunk.length
      stderrTail = (stderrTail + chunk.toString('utf8')).slice(-stderrTailChars)
    })
    client.stdout.pipe(stdout, { end: false })
    client.stderr.pipe(stderr, { end: false })
    const passMissed = async () => {
      if (keptLog && reason === undefined) {
        const kept = await readKeptOutput(keptLog)
        const lost = {
          stdout: missedOutput(kept.stdout, delivered.stdout),
          stderr: missedOutput(kept.stderr, delivered.stderr),
        }
        if (lost.stdout.length) stdout.write(lost.stdout)
        if (lost.stderr.length) {
          stderr.write(lost.stderr)
          stderrTail = (stderrTail + lost.stderr.toString('utf8')).slice(-stderrTailChars)
        }
      }
      stdout.end()
      stderr.end()
    }

    let reason: EndReason | undefined
    let stopping: Promise<void> | undefined
    const engine = (a: string[], timeoutMs?: number) => this.engine(a, timeoutMs)
    const cliRemoves = this.cliRemoves
    const graceSeconds = Math.max(1, Math.ceil(spec.killGraceMs / 1000))
    const terminate = (why: EndReason) => {
      // The client (`run`) exited: the container's program ended on its own (run exits with it), and how it ended
      // is the outcome, not a timeout or a cancel that came while its last output is read; the group's terminate
      // only ends that wait then (spawn-group.ts), and there is no container left to stop.
      if (client.exited && stopping === undefined) {
        client.terminate(why)
        return
      }
      reason ??= why
      stopping ??= (async () => {
        await engine(['stop', '--time', String(graceSeconds), name], (graceSeconds + 30) * 1000)
        // a container that was not created yet cannot be stopped: end the client, the sweep below removes it
        client.terminate(why)
      })()
    }
    const timer = spec.timeoutMs ? setTimeout(() => terminate('timed_out'), spec.timeoutMs) : undefined
    const onAbort = () => terminate(abortReason(spec.signal))
    if (spec.signal?.aborted) queueMicrotask(onAbort)
    else spec.signal?.addEventListener('abort', onAbort, { once: true })

    const done = client.done.then(async (outcome): Promise<ProcessOutcome> => {
      if (timer) clearTimeout(timer)
      spec.signal?.removeEventListener('abort', onAbort)
      await passMissed()
      // `--rm` removes a container that ended by itself; one we ended, or whose client died, is removed here
      if (reason !== undefined || outcome.exitCode === null || outcome.exitCode >= 125 || !cliRemoves) {
        await stopping
        await engine([...this.forceRemove, name])
      }
      removeDirs()
      return containerOutcome(outcome, reason, stderrTail, spec, image, started)
    })
    return wrappedProcess(client, done, { stdout, stderr, terminate })
  }

  /** Removes every container this gateway instance left (a crashed predecessor's); a Leftover pid is a client. */
  async reclaim(leftover?: Leftover): Promise<boolean> {
    if (leftover) return false
    const names = await this.ownContainers()
    if (names.length === 0) return false
    await this.engine([...this.forceRemove, ...names])
    return true
  }

  /**
   * Names of the containers carrying this gateway's instance label (running or not). An engine that fails
   * to answer is asked again (podman can fail on a busy lock); one that keeps failing is an error, never
   * "nothing to remove".
   */
  async ownContainers(): Promise<string[]> {
    const args = ['ps', '--all', '--filter', `label=${instanceLabel}=${this.options.instance}`]
    let failure = ''
    for (let attempt = 1; attempt <= 3; attempt++) {
      const listed = await this.engine([...args, '--format', '{{.Names}}'])
      if (listed.exitCode === 0) return listed.stdout.split('\n').filter(Boolean)
      failure = listed.stderr.trim() || `exit code ${listed.exitCode}`
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt))
    }
    throw new Error(`${this.options.engine} ps failed: ${failure}`)
  }

  /**
   * The engine and its version (asked once a minute at most: /health must stay cheap). An engine that did not
   * answer is asked again after 5 s: one slow answer (an engine service starting under load) must not report
   * containers unavailable for a minute.
   */
  describe(): Promise<RunnerInfo> {
    const now = Date.now()
    const d = this.described
    if (d && now - d.at <= (d.available === false ? unavailableRecheckMs : 60_000)) return d.info
    const entry: { at: number; info: Promise<RunnerInfo>; available?: boolean } = {
      at: now,
      info: this.askEngine(),
    }
    entry.info.then(
      (info) => {
        entry.available = info.available
      },
      () => {
        entry.available = false
      },
    )
    this.described = entry
    return entry.info
  }

  private async askEngine(): Promise<RunnerInfo> {
    const answer = await this.engine(['version', '--format', '{{.Client.Version}}'], 10_000)
    const version = answer.exitCode === 0 ? answer.stdout.trim() || null : null
    return {
      kind: 'container',
      engine: this.options.engine,
      version,
      available: version !== null,
      image: this.options.image ?? null,
      limits: {
        network: this.options.network,
        memory: this.options.memory ?? null,
        cpus: this.options.cpus ?? null,
        pidsLimit: this.options.pidsLimit,
        user: this.options.user,
        tmpfsSize: this.options.tmpfsSize,
        ulimits: this.options.ulimits ?? [],
      },
    }
  }

  private engine(args: string[], timeoutMs?: number) {
    return engineCommand(this.options.engine, args, this.options.engineEnv, timeoutMs)
  }
}

/**
 * The client's exit is the container's: `run` exits with the program's code. 125 means the engine could not
 * run the container; the init or the runtime saying it could not exec the program means it is not in the
 * image: those are `spawn_failed`.
 */
function containerOutcome(
  outcome: ProcessOutcome,
  reason: EndReason | undefined,
  stderrTail: string,
  spec: LaunchSpec,
  image: string,
  started: number,
): ProcessOutcome {
  const durationMs = Math.round(performance.now() - started)
  if (outcome.reason === 'spawn_failed') return { ...outcome, durationMs }
  if (reason !== undefined) return { ...outcome, reason, durationMs }
  const code = outcome.exitCode
  // the init process (catatonit, tini) or the OCI runtime reports a program it could not start
  const notStartable = /failed to exec pid1|executable file not found|OCI runtime|exec format error/i
  const engineFailed = code === 125 || (code !== 0 && notStartable.test(stderrTail))
  if (!engineFailed) return { ...outcome, durationMs }
  const program = spec.program ?? path.basename(spec.command)
  const last = stderrTail.trim().split('\n').slice(-3).join('\n')
  return {
    ...outcome,
    reason: 'spawn_failed',
    durationMs,
    error:
      code === 125 ? `container engine failed: ${last}` : `${program}: not found in image ${image}: ${last}`,
  }
}
