import { existsSync } from 'node:fs'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { readLines } from '../../src/process/lines.js'
import {
  type LaunchSpec,
  type ProcessRunner,
  type RunningProcess,
  stagedPath,
} from '../../src/process/runner.js'
import { killAll, listProcesses } from '../support/processes.js'
import { removeDir, tempDir } from '../support/temp.js'

/**
 * The behaviour every ProcessRunner must show (the local process-group runner, the container runner): a
 * program described as data starts, streams, ends with its whole tree and leaves nothing. Programs are POSIX
 * `sh` scripts, so the same tests run on the host and inside a busybox image.
 */
export interface RunnerUnderTest {
  create(): ProcessRunner
  /** The env every program gets (PATH and what the runner needs). */
  env: Record<string, string>
  /**
   * What `runner` (one of create()'s, a test's own) left behind for programs started in `cwd` (processes,
   * containers); empty when clean.
   */
  leftovers(cwd: string, runner: ProcessRunner): Promise<string[]>
  /**
   * How long to wait for leftovers to disappear after `done` (container engines clean up asynchronously). Absent:
   * what a program left in sessions of its own is gone when its `done` resolves.
   */
  settleMs?: number
  /**
   * How a command that left a long-lived program's tree while the program runs on is ended (`endEscaped`):
   * - 'when asked': the runner offers `endEscaped`; it ends, while the program runs on, the escaped processes
   *   of the ended turn (by the thread they name, else by where they work) and nothing else;
   * - 'with the program': nothing can escape the program's confinement (a container, whose every process ends
   *   with it): the runner offers no `endEscaped`, and what escaped ends when the program is ended.
   */
  escaped: 'when asked' | 'with the program'
  /**
   * The cases run at once (each with its own runner and cwd, so `leftovers` must tell one runner's from
   * another's): for a subject whose programs mostly wait, not compute (a container engine's starts and stops, a
   * timeout waited out).
   */
  concurrent?: boolean
  /** What a program's start may take beyond a process's (a container's, beside others starting at once). */
  startMs?: number
}

export function runnerContract(name: string, subject: RunnerUnderTest): void {
  /** The endEscaped cases' sleeps run `sleep <sleepBase + n>`, apart from other tests' (see `sleeping`). */
  const sleepBase = 1000 * (10 + Math.floor(Math.random() * 80)) + (process.pid % 900)

  /**
   * One test's runner, cwd and programs, ended and checked after it (whatever happened): a test's own, so that
   * the cases of a subject whose programs mostly wait (a container engine's starts) can run at once.
   */
  function fixture(onTestFinished: (fn: () => Promise<void>) => void) {
    const runner = subject.create()
    const cwd = tempDir('runner-')
    const started: RunningProcess[] = []
    /** This test's `sleep <sleepBase + n>` arguments (escapeFrom's). */
    const sleeps = new Set<number>()
    onTestFinished(async () => {
      for (const proc of started.splice(0)) {
        proc.terminate('shutdown')
        await proc.done
      }
      const left = await settled(() => subject.leftovers(cwd, runner), subject.settleMs ?? 2000)
      // a failed endEscaped case must not leave its long sleeps running
      const ours = new Set([...sleeps].map((n) => `sleep ${sleepBase + n}`))
      killAll(listProcesses().filter((p) => ours.has(p.cmd)))
      removeDir(cwd)
      expect(left, 'the runner left something behind').toEqual([])
    })
    return {
      runner,
      cwd,
      start(spec: Partial<LaunchSpec> & { args: string[] }) {
        const proc = runner.start({ command: 'sh', cwd, env: subject.env, killGraceMs: 1000, ...spec })
        started.push(proc)
        return { proc, stdout: lines(proc.stdout), stderr: text(proc.stderr) }
      },
      /**
       * The processes running `sleep <base + arg>`, found by their command line (a container's processes show
       * the host neither their cwd nor their environment).
       */
      sleeping: async (arg: number) => listProcesses().filter((p) => p.cmd === `sleep ${sleepBase + arg}`),
      /**
       * A double fork (reparented away from the program's tree), from `dir` (relative to cwd; '.': the cwd
       * itself, which a container's user may not be allowed to enter again).
       */
      escapeFrom(dir: string, arg: number, env = '') {
        sleeps.add(arg)
        return `(${dir === '.' ? '' : `cd ${dir} && `}${env} setsid sleep ${sleepBase + arg} </dev/null >/dev/null 2>&1 &)`
      },
    }
  }
  type Fixture = ReturnType<typeof fixture>
  const sh = (script: string) => ({ args: ['-c', script] })

  /** A case with a fixture of its own; at once with the others where the subject says so. */
  const test = (title: string, body: (f: Fixture) => Promise<void>) =>
    (subject.concurrent ? it.concurrent : it)(title, async ({ onTestFinished }) =>
      body(fixture(onTestFinished)),
    )

  describe(`ProcessRunner contract: ${name}`, () => {
    test('streams stdout and stderr and reports the exit code as data', async ({ start }) => {
      const { proc, stdout, stderr } = start(sh('echo out; echo err >&2; exit 3'))
      const outcome = await proc.done
      expect(outcome).toMatchObject({ exitCode: 3, reason: 'exited' })
      expect(outcome.error).toBeUndefined()
      expect(await stdout.all).toEqual(['out'])
      expect(await stderr).toBe('err\n')
    })

    test('runs in the given cwd with the given env', async ({ cwd, start }) => {
      const { proc, stdout } = start({
        ...sh('pwd; echo "$GREETING"'),
        env: { ...subject.env, GREETING: 'hello there' },
      })
      expect((await proc.done).exitCode).toBe(0)
      expect(await stdout.all).toEqual([cwd, 'hello there'])
    })

    test('delivers a stdin string and closes stdin', async ({ start }) => {
      const { proc, stdout } = start({ command: 'cat', args: [], stdin: 'line one\nline two\n' })
      expect(await proc.done).toMatchObject({ exitCode: 0, reason: 'exited' })
      expect(await stdout.all).toEqual(['line one', 'line two'])
    })

    test('closes stdin at once when stdin is null', async ({ start }) => {
      const { proc, stdout } = start({ command: 'cat', args: [], stdin: null, timeoutMs: 20_000 })
      expect(await proc.done).toMatchObject({ exitCode: 0, reason: 'exited' })
      expect(await stdout.all).toEqual([])
    })

    test('keeps stdin open for a long-lived peer', async ({ start }) => {
      const { proc, stdout } = start({
        ...sh('while read l; do echo "got $l"; done'),
        stdin: { keepOpen: true },
      })
      proc.stdin.write('one\n')
      expect(await stdout.next()).toBe('got one')
      proc.stdin.write('two\n')
      expect(await stdout.next()).toBe('got two')
      proc.stdin.end()
      expect(await proc.done).toMatchObject({ exitCode: 0, reason: 'exited' })
    })

    test('stages files the args name, and removes them after the end', async ({ start }) => {
      const { proc, stdout } = start({
        // the last: a request's own text spelling the old token (a prompt) is not a staged path
        ...sh(
          `cat ${stagedPath('schema.json')}; echo; echo ${stagedPath('schema.json')}; echo '{{staged}}/x'`,
        ),
        files: [{ name: 'schema.json', content: '{"type":"object"}' }],
      })
      expect((await proc.done).exitCode).toBe(0)
      const [content, where, written] = await stdout.all
      expect(content).toBe('{"type":"object"}')
      expect(where).not.toContain('{{staged')
      expect(written).toBe('{{staged}}/x')
      if (where && path.isAbsolute(where) && !where.startsWith('/staged'))
        expect(existsSync(where)).toBe(false)
    })

    test('ends the whole tree on timeout, recording timed_out', async ({ start }) => {
      // the timeout counts from the spawn: with 1.5 s the case failed once at load 20 (the shell slow to say ready)
      const timeoutMs = 3000 + (subject.startMs ?? 0)
      const { proc, stdout } = start({ ...sh('sleep 30 & sleep 30 & echo ready; wait'), timeoutMs })
      expect(await stdout.next()).toBe('ready')
      const outcome = await proc.done
      expect(outcome.reason).toBe('timed_out')
      expect(outcome.exitCode).not.toBe(0)
    })

    test('ends the tree when aborted, recording the abort reason', async ({ start }) => {
      const controller = new AbortController()
      const { proc, stdout } = start({ ...sh('sleep 30 & echo ready; wait'), signal: controller.signal })
      expect(await stdout.next()).toBe('ready')
      controller.abort('client_gone')
      expect((await proc.done).reason).toBe('client_gone')
    })

    test('records an abort without a known reason as cancelled, even one that came before the start', async ({
      start,
    }) => {
      const { proc } = start({ ...sh('sleep 30'), signal: AbortSignal.abort(new Error('x')) })
      expect((await proc.done).reason).toBe('cancelled')
    })

    test('terminate() keeps the first reason', async ({ start }) => {
      const { proc, stdout } = start(sh('echo ready; sleep 30'))
      expect(await stdout.next()).toBe('ready')
      proc.terminate('shutdown')
      proc.terminate('cancelled')
      expect((await proc.done).reason).toBe('shutdown')
    })

    test('kills a program that ignores TERM once the grace is over', async ({ start }) => {
      const { proc, stdout } = start({
        ...sh("trap '' TERM; echo ready; while true; do sleep 1; done"),
        killGraceMs: 500,
      })
      expect(await stdout.next()).toBe('ready')
      proc.terminate('cancelled')
      const outcome = await proc.done
      expect(outcome.reason).toBe('cancelled')
      expect(outcome.exitCode).not.toBe(0)
    })

    test('ends helpers that moved to a session of their own once the program ended', async ({
      runner,
      cwd,
      start,
    }) => {
      // the program exits once the helper is in its session (it opened the fifo after setsid): not killed with the
      // program's group, however late it gets there
      const { proc, stdout } = start({
        ...sh(
          "mkfifo in-session; setsid sh -c ': > in-session; exec sleep 33' </dev/null >/dev/null 2>&1 & " +
            'read -r _ < in-session; echo ready',
        ),
        sweepLeftovers: true,
      })
      expect(await stdout.next()).toBe('ready')
      expect((await proc.done).exitCode).toBe(0)
      // gone when `done` resolved (a run's end is told after it), where the runner cleans up nothing later
      if (subject.settleMs === undefined) expect(await subject.leftovers(cwd, runner)).toEqual([])
      // the afterEach leftovers check proves the helper is gone
    })

    if (subject.escaped === 'when asked') {
      test("endEscaped ends what escaped into the ended turn's directory, not the program's own nor elsewhere", async ({
        cwd,
        start,
        sleeping,
        escapeFrom,
      }) => {
        const { proc, stdout } = start({
          ...sh(
            `mkdir -p turn other; ${escapeFrom('turn', 41)}; ${escapeFrom('other', 42)}; ` +
              `(cd turn && exec sleep ${sleepBase + 43}) & echo ready; wait`,
          ),
          sweepLeftovers: true,
        })
        expect(await stdout.next()).toBe('ready')
        await until(async () => (await Promise.all([41, 42, 43].map(sleeping))).every((p) => p.length > 0))
        expect(proc.endEscaped).toBeTypeOf('function')
        proc.endEscaped?.(() => ({ within: [path.join(cwd, 'turn')], except: [] }))
        expect(await settled(() => sleeping(41), 10_000)).toEqual([])
        // what escaped elsewhere, and the program's own child in the same directory, run on with it
        expect(await sleeping(42)).toHaveLength(1)
        expect(await sleeping(43)).toHaveLength(1)
        // the program's end sweeps the rest (the afterEach leftovers check)
      })

      test("endEscaped ends what names the ended turn's thread wherever it works, never another thread's", async ({
        cwd,
        start,
        sleeping,
        escapeFrom,
      }) => {
        const thread = (owner: string) => `AGENT_GATEWAY_THREAD=${owner}`
        const { proc, stdout } = start({
          ...sh(
            `mkdir -p a b; ${escapeFrom('a', 44, thread('one'))}; ${escapeFrom('b', 45, thread('two'))}; ` +
              'echo ready; sleep 30',
          ),
          sweepLeftovers: true,
        })
        expect(await stdout.next()).toBe('ready')
        await until(async () => (await sleeping(44)).length > 0 && (await sleeping(45)).length > 0)
        // the thread's turn worked in b: the thread, not the directory, decides
        proc.endEscaped?.(() => ({ within: [path.join(cwd, 'b')], except: [], owner: 'one' }))
        expect(await settled(() => sleeping(44), 10_000)).toEqual([])
        expect(await sleeping(45)).toHaveLength(1)
      })
    } else {
      test('what escaped a running program ends with it: no endEscaped is needed', async ({
        start,
        sleeping,
        escapeFrom,
      }) => {
        const { proc, stdout } = start({
          ...sh(`${escapeFrom('.', 46)}; echo ready; sleep 30`),
          sweepLeftovers: true,
        })
        expect(await stdout.next()).toBe('ready')
        await until(async () => (await sleeping(46)).length > 0)
        expect(proc.endEscaped).toBeUndefined()
        proc.terminate('cancelled')
        expect((await proc.done).reason).toBe('cancelled')
        expect(await settled(() => sleeping(46), subject.settleMs ?? 2000)).toEqual([])
      })
    }

    test('reports a program that does not exist as spawn_failed, without throwing', async ({ start }) => {
      const { proc, stdout } = start({ command: 'no-such-program-agw', args: [] })
      const outcome = await proc.done
      expect(outcome.reason === 'spawn_failed' || outcome.exitCode === 127).toBe(true)
      expect(await stdout.all).toEqual([])
    })

    test('describes itself', async ({ runner }) => {
      const info = await runner.describe()
      expect(info.kind).toBe(runner.kind)
      expect(info.available).toBe(true)
    })
  })
}

/** Lines of a stream: `next()` waits for the next one, `all` resolves with every line once it closed. */
function lines(stream: Readable) {
  const seen: string[] = []
  const waiting: ((line: string | undefined) => void)[] = []
  let read = 0
  let closed = false
  const all = (async () => {
    for await (const line of readLines(stream)) {
      seen.push(line)
      waiting.shift()?.(seen[read++])
    }
    closed = true
    for (const w of waiting.splice(0)) w(undefined)
    return seen
  })()
  return {
    all,
    next: () =>
      new Promise<string | undefined>((resolve) => {
        if (read < seen.length) resolve(seen[read++])
        else if (closed) resolve(undefined)
        else waiting.push(resolve)
      }),
  }
}

async function text(stream: Readable): Promise<string> {
  let out = ''
  for await (const chunk of stream) out += chunk
  return out
}

async function until(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the escaped processes to run')
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function settled<T>(check: () => Promise<T[]>, timeoutMs: number): Promise<T[]> {
  const deadline = Date.now() + timeoutMs
  let left = await check()
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50))
    left = await check()
  }
  return left
}
