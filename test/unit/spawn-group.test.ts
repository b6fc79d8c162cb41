import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { readText } from '../../src/process/lines.js'
import { pacedSpawn } from '../../src/process/paced-spawn.js'
import { serverMarker } from '../../src/process/server-marker.js'
import {
  type ChildSpawner,
  type GroupProcess,
  type SpawnSpec,
  spawnGroup,
} from '../../src/process/spawn-group.js'
import { SpawnHost } from '../../src/process/spawn-host.js'
import {
  killAll,
  listProcesses,
  processesInGroup,
  processesUnder,
  waitUntilGone,
} from '../support/processes.js'
import { removeDir, tempDir } from '../support/temp.js'

const living = (pid: number) => listProcesses().filter((p) => p.pid === pid)

/**
 * Starts a daemon in a session of its own that keeps the script's stdout and stderr (`sh -c '<daemon>; exec sleep
 * 300' daemon <leader pid>`), then goes on once it is there (it wrote its pid to daemon.pid after its setsid), so
 * the group kill at the leader's exit cannot reach it.
 */
const withDaemon = (then: string, daemon = ':') =>
  `setsid sh -c 'echo $$ > daemon.pid; ${daemon}; exec sleep 300' daemon $$ & while [ ! -s daemon.pid ]; do sleep 0.01; done; ${then}`

const sh = (script: string) => ({ command: '/bin/sh', args: ['-c', script] })

/** Waits until the group has at least `count` live members (so a signal reaches a running script). */
async function waitForMembers(pid: number, count: number, cmd?: string): Promise<void> {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    const members = processesInGroup(pid).filter((p) => (cmd ? p.cmd === cmd : true))
    if (members.length >= count) return
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`group ${pid} never reached ${count} members`)
}

let host: SpawnHost | undefined
beforeAll(async () => {
  host = await SpawnHost.start()
})
afterAll(() => host?.stop())

/**
 * The same behaviour whether the child is spawned on this thread (paced) or by the spawn host. The two lanes run at
 * once (each its own cwd per test and its own list of groups), their tests one after another: the file's time is
 * its processes' sleeps, time limits and grace periods, not CPU (session 40: 6 s of CPU in 20-30 s).
 */
describe.concurrent.each([
  ['paced on this thread', () => pacedSpawn],
  ['from the spawn host', () => host!.spawn.bind(host)],
])('spawnGroup, spawned %s', (_how, choose: () => ChildSpawner) => {
  describe.sequential('one test after another', () => {
    let cwd: string
    const started: GroupProcess[] = []
    let spawner: ChildSpawner

    beforeEach(() => {
      cwd = tempDir('spawn-')
      spawner = choose()
    })

    afterEach(async () => {
      // Safety net only: a test that leaves a group behind has already failed its own assertions.
      for (const proc of started.splice(0)) if (proc.pid !== undefined) killAll(processesInGroup(proc.pid))
      // and a daemon a test's command started outside its group, whatever happened
      if (existsSync(path.join(cwd, 'daemon.pid'))) killAll(living(daemonPid()))
      removeDir(cwd)
    })

    const daemonPid = () => Number(readFileSync(path.join(cwd, 'daemon.pid'), 'utf8'))

    function run(spec: Partial<SpawnSpec> & { command: string; args: string[] }) {
      const proc = spawnGroup(
        {
          cwd,
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
          killGraceMs: 2000,
          ...spec,
        },
        spawner,
      )
      started.push(proc)
      const collect = async (stream: Readable) => {
        let text = ''
        for await (const t of readText(stream)) text += t
        return text
      }
      const stdout = collect(proc.stdout)
      const stderr = collect(proc.stderr)
      return { proc, stdout, stderr }
    }

    /**
     * Runs `script(timeoutMs)` under a time limit that `up` (its processes are there) holds within: the limit counts
     * from the spawn, and on a loaded machine 500 ms may pass before a script's processes are all up; then it runs
     * again with twice the time (up to 8 s). Returns the run whose processes were up while it still ran.
     */
    async function upBeforeTimeout(
      script: (timeoutMs: number) => string,
      up: (proc: GroupProcess, timeoutMs: number) => boolean,
    ): Promise<{ proc: GroupProcess; timeoutMs: number }> {
      for (let timeoutMs = 500; ; timeoutMs *= 2) {
        const { proc } = run({ ...sh(script(timeoutMs)), timeoutMs })
        let ended = false
        void proc.done.then(() => {
          ended = true
        })
        await proc.started
        while (!ended && !up(proc, timeoutMs)) await new Promise((r) => setTimeout(r, 20))
        if (!ended) return { proc, timeoutMs }
        if (timeoutMs >= 8000) throw new Error(`${script(timeoutMs)}: not up within its ${timeoutMs} ms`)
      }
    }

    it('reports the exit code with reason exited', async () => {
      const { proc, stdout } = run(sh('echo out; echo err >&2; exit 3'))
      const outcome = await proc.done
      expect(outcome).toMatchObject({ exitCode: 3, signal: null, reason: 'exited' })
      expect(outcome.error).toBeUndefined()
      expect(outcome.durationMs).toBeGreaterThanOrEqual(0)
      expect(await stdout).toBe('out\n')
    })

    it('leads its own process group', async () => {
      // running until the look is done: a `sleep 0.3` may be gone before it when the start is answered late (once at load 20)
      const { proc } = run(sh('sleep 30'))
      expect(await proc.started).toBeTypeOf('number')
      const me = processesInGroup(proc.pid!).find((p) => p.pid === proc.pid)
      expect(me?.pgid).toBe(proc.pid)
      proc.terminate('shutdown')
      expect((await proc.done).reason).toBe('shutdown')
    })

    it('runs in the given cwd with the given env', async () => {
      const { proc, stdout } = run({
        ...sh('pwd; echo "$GREETING"'),
        env: { PATH: '/usr/bin:/bin', GREETING: 'hi' },
      })
      expect((await proc.done).exitCode).toBe(0)
      expect((await stdout).split('\n').slice(0, 2)).toEqual([cwd, 'hi'])
    })

    it('delivers a stdin string and closes stdin', async () => {
      const { proc, stdout } = run({ command: 'cat', args: [], stdin: 'line one\nline two' })
      const outcome = await proc.done
      expect(outcome).toMatchObject({ exitCode: 0, reason: 'exited' })
      expect(await stdout).toBe('line one\nline two')
    })

    it('closes stdin at once when stdin is null', async () => {
      const { proc, stdout } = run({ command: 'cat', args: [], stdin: null, timeoutMs: 30_000 })
      const outcome = await proc.done
      expect(outcome).toMatchObject({ exitCode: 0, reason: 'exited' })
      expect(outcome.durationMs).toBeLessThan(20_000)
      expect(await stdout).toBe('')
    })

    it('ends the whole group on timeout', async () => {
      const { proc } = await upBeforeTimeout(
        () => 'sleep 30 & sleep 30 & wait',
        (p) => processesInGroup(p.pid!).length >= 3,
      )
      const outcome = await proc.done
      expect(outcome.reason).toBe('timed_out')
      expect(outcome.exitCode).toBeNull()
      expect(outcome.signal).toBe('SIGTERM')
      expect(outcome.durationMs).toBeLessThan(10_000)
      expect(await waitUntilGone(() => processesInGroup(proc.pid!))).toEqual([])
    })

    it('ends descendants that moved to a session of their own (as codex does with commands)', async () => {
      // a sleep of its own per time limit: one a shorter try left is not this one
      const sleep = (timeoutMs: number) => `sleep ${31 + timeoutMs / 1000}`
      const escapedFrom = (p: GroupProcess, timeoutMs: number) =>
        processesUnder(cwd).filter((q) => q.cmd === sleep(timeoutMs) && q.pgid !== p.pid)
      const { proc, timeoutMs } = await upBeforeTimeout(
        (ms) => `setsid ${sleep(ms)} & echo started; wait`,
        (p, ms) => escapedFrom(p, ms).length > 0,
      )
      const escaped = () => escapedFrom(proc, timeoutMs)
      expect(escaped()).toHaveLength(1)
      expect((await proc.done).reason).toBe('timed_out')
      expect(await waitUntilGone(escaped)).toEqual([])
    })

    it('ends the whole group when aborted, recording the abort reason', async () => {
      const controller = new AbortController()
      const { proc } = run({ ...sh('sleep 30 & sleep 30 & wait'), signal: controller.signal })
      await waitForMembers((await proc.started)!, 3)
      controller.abort('client_gone')
      const outcome = await proc.done
      expect(outcome.reason).toBe('client_gone')
      expect(outcome.signal).toBe('SIGTERM')
      expect(await waitUntilGone(() => processesInGroup(proc.pid!))).toEqual([])
    })

    it('records an abort without a known reason as cancelled', async () => {
      const controller = new AbortController()
      const { proc } = run({ ...sh('sleep 30'), signal: controller.signal })
      await waitForMembers((await proc.started)!, 1)
      controller.abort(new Error('whatever'))
      expect((await proc.done).reason).toBe('cancelled')
    })

    it('ends the process at once when the signal is already aborted', async () => {
      const controller = new AbortController()
      controller.abort('shutdown')
      const { proc } = run({ ...sh('sleep 30'), signal: controller.signal })
      const outcome = await proc.done
      expect(outcome.reason).toBe('shutdown')
      // far below the 30 s of its sleep (a loaded machine takes seconds to start and end a process)
      expect(outcome.durationMs).toBeLessThan(20_000)
    })

    it('terminate() keeps the first reason', async () => {
      const { proc } = run(sh('sleep 30'))
      await waitForMembers((await proc.started)!, 1)
      proc.terminate('shutdown')
      proc.terminate('cancelled')
      expect((await proc.done).reason).toBe('shutdown')
    })

    it('SIGKILLs a group that ignores SIGTERM after killGraceMs', async () => {
      const { proc } = run({ ...sh('trap "" TERM; sleep 30; echo survived'), killGraceMs: 400 })
      // `sleep` exists only once the trap is set, so SIGTERM cannot arrive before it.
      await waitForMembers((await proc.started)!, 1, 'sleep 30')
      const t0 = Date.now()
      proc.terminate('cancelled')
      const outcome = await proc.done
      const elapsed = Date.now() - t0
      expect(outcome.reason).toBe('cancelled')
      expect(outcome.signal).toBe('SIGKILL')
      expect(elapsed).toBeGreaterThanOrEqual(350)
      expect(elapsed).toBeLessThan(20_000)
      expect(await waitUntilGone(() => processesInGroup(proc.pid!))).toEqual([])
    })

    it('kills a helper the leader left in its group when the leader exits normally', async () => {
      const { proc, stdout } = run(sh('sleep 30 & echo started'))
      const outcome = await proc.done
      expect(outcome).toMatchObject({ exitCode: 0, signal: null, reason: 'exited' })
      // Without the group kill, `close` would wait for the helper holding stdout (30 s).
      expect(outcome.durationMs).toBeLessThan(20_000)
      expect(await stdout).toBe('started\n')
      expect(await waitUntilGone(() => processesInGroup(proc.pid!))).toEqual([])
    })

    it('ends outputDrainMs after the leader exited when a daemon in a session of its own holds its output', async () => {
      const { proc, stdout, stderr } = run({
        ...sh(withDaemon('echo hi; echo warn >&2')),
        outputDrainMs: 300,
      })
      const outcome = await proc.done
      expect(outcome).toMatchObject({ exitCode: 0, signal: null, reason: 'exited' })
      expect(await stdout).toBe('hi\n')
      expect(await stderr).toBe('warn\n')
      // the daemon carried the group's marker: it is ended
      expect(await waitUntilGone(() => living(daemonPid()))).toEqual([])
    })

    it('passes its markers on in PATH too, after the PATH it was given', async () => {
      const { proc, stdout } = run({ ...sh('echo "$PATH"'), env: { PATH: '/usr/bin:/bin' } })
      expect((await proc.done).exitCode).toBe(0)
      const dirs = (await stdout).trim().split(':')
      expect(dirs.slice(0, 2)).toEqual(['/usr/bin', '/bin'])
      expect(dirs.slice(2)).toEqual([
        expect.stringMatching(/^\/proc\/agent-gateway\/AGENT_GATEWAY_APP_SERVER=[0-9a-f-]{36}$/),
        `/proc/agent-gateway/AGENT_GATEWAY_SERVER=${encodeURIComponent(serverMarker())}`,
      ])
    })

    it("ends a daemon whose environment was cleared but for PATH (codex's file-system helper): by the markers in PATH", async () => {
      const daemon = `setsid env -i PATH="$PATH" sh -c 'echo $$ > daemon.pid; exec sleep 300' &`
      const { proc, stdout } = run({
        ...sh(`${daemon} while [ ! -s daemon.pid ]; do sleep 0.01; done; echo hi`),
        outputDrainMs: 300,
      })
      // its pid written, not only the file made (`>` creates it empty first: as the shell's `-s`)
      await expect.poll(() => existsSync(path.join(cwd, 'daemon.pid')) && daemonPid() > 0).toBe(true)
      const environ = readFileSync(`/proc/${daemonPid()}/environ`, 'latin1').split('\0').filter(Boolean)
      // no marker variable: only PATH (and the PWD sh sets) came through
      expect(environ.map((e) => e.split('=')[0]).filter((name) => name !== 'PWD')).toEqual(['PATH'])
      expect((await proc.done).exitCode).toBe(0)
      expect(await stdout).toBe('hi\n')
      expect(await waitUntilGone(() => living(daemonPid()))).toEqual([])
    })

    it("a timeout after the leader exited, while a daemon holds its output, ends the wait with the leader's own end", async () => {
      // the leader exits at once; its time limit comes within the bound (10 minutes), which it ends, not waits out
      const { proc, stdout } = run({
        ...sh(withDaemon('echo hi; exit 3')),
        outputDrainMs: 600_000,
        timeoutMs: 3000,
      })
      let late: NodeJS.Timeout | undefined
      const waited = new Promise<string>((resolve) => {
        late = setTimeout(() => resolve('still waiting for the output 20 s after'), 20_000)
      })
      const outcome = await Promise.race([proc.done, waited]).finally(() => clearTimeout(late))
      expect(outcome).toMatchObject({ exitCode: 3, signal: null, reason: 'exited' })
      expect(await stdout).toBe('hi\n')
      expect(await waitUntilGone(() => living(daemonPid()))).toEqual([])
    })

    it('keeps the output written before the leader exited, and what comes within the bound after', async () => {
      // the daemon writes once the leader is gone, well within the bound (default: 2000 ms)
      const { proc, stdout } = run(
        sh(
          withDaemon(
            "head -c 60000 /dev/zero | tr '\\0' x; exit 7",
            'while kill -0 $1 2>/dev/null; do sleep 0.01; done; echo late',
          ),
        ),
      )
      expect(await proc.done).toMatchObject({ exitCode: 7, signal: null, reason: 'exited' })
      expect(await stdout).toBe(`${'x'.repeat(60000)}late\n`)
      expect(await waitUntilGone(() => living(daemonPid()))).toEqual([])
    })

    it('does not end the wait for the output while its reader holds what the leader wrote (paused: its run waits for the store)', async () => {
      // what fits in the pipe: the leader exits with it unread
      const proc = spawnGroup(
        {
          cwd,
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
          killGraceMs: 2000,
          outputDrainMs: 1,
          ...sh("head -c 50000 /dev/zero | tr '\\0' x; exit 5"),
        },
        spawner,
      )
      started.push(proc)
      let text = ''
      proc.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1')
      })
      proc.stdout.pause()
      proc.stderr.resume()
      while (!proc.exited) await new Promise((r) => setTimeout(r, 20))
      // the exit armed the bound (1 ms) before this timer: it has come when this one does (a child spawned on this
      // thread has its output resumed by Node at its exit: read to its end by then)
      await new Promise((r) => setTimeout(r, 50))
      expect(proc.stdout.destroyed && text.length < 50000).toBe(false)
      proc.stdout.resume()
      expect(await proc.done).toMatchObject({ exitCode: 5, signal: null, reason: 'exited' })
      expect(text).toBe('x'.repeat(50000))
    })

    it('reports a missing binary as spawn_failed without throwing', async () => {
      const missing = path.join(cwd, 'no-such-binary')
      let outcome: Awaited<GroupProcess['done']> | undefined
      expect(() => {
        const { proc } = run({ command: missing, args: [] })
        proc.done.then((o) => {
          outcome = o
        })
      }).not.toThrow()
      await expect.poll(() => outcome).toBeDefined()
      expect(outcome).toMatchObject({ exitCode: null, signal: null, reason: 'spawn_failed' })
      expect(outcome?.error).toContain('not found')
      expect(outcome?.error).toContain(missing)
    })

    it('reports a file that is not executable as spawn_failed', async () => {
      const file = path.join(cwd, 'not-executable')
      writeFileSync(file, '#!/bin/sh\necho hi\n', { mode: 0o644 })
      const { proc } = run({ command: file, args: [] })
      const outcome = await proc.done
      expect(outcome.reason).toBe('spawn_failed')
      expect(outcome.error).toContain('EACCES')
    })

    it('does not blame the binary when the cwd is missing', async () => {
      const gone = path.join(cwd, 'gone')
      const { proc } = run({ ...sh('true'), cwd: gone })
      const outcome = await proc.done
      expect(outcome.reason).toBe('spawn_failed')
      // /bin/sh exists; the error must point at the working directory instead.
      expect(outcome.error).not.toBe('/bin/sh: not found')
      expect(outcome.error).toContain(gone)
    })

    it('reports a cwd that is a file as spawn_failed instead of throwing', async () => {
      const file = path.join(cwd, 'a-file')
      writeFileSync(file, 'x')
      let proc: GroupProcess | undefined
      expect(() => {
        proc = run({ ...sh('true'), cwd: file }).proc
      }).not.toThrow()
      const outcome = await proc?.done
      expect(outcome?.reason).toBe('spawn_failed')
    })

    it('reports an env value with a NUL byte as spawn_failed instead of throwing', async () => {
      let proc: GroupProcess | undefined
      expect(() => {
        proc = run({ ...sh('true'), env: { PATH: '/usr/bin:/bin', BAD: 'a\u0000b' } }).proc
      }).not.toThrow()
      const outcome = await proc?.done
      expect(outcome?.reason).toBe('spawn_failed')
    })

    it('records the signal when the leader is killed from outside', async () => {
      const { proc } = run(sh('sleep 30'))
      await waitForMembers((await proc.started)!, 1)
      process.kill(proc.pid!, 'SIGKILL')
      const outcome = await proc.done
      expect(outcome).toMatchObject({ exitCode: null, signal: 'SIGKILL', reason: 'exited' })
    })
  })
})
