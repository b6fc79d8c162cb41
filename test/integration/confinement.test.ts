import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { CodexDriver } from '../../src/agents/codex/driver.js'
import { procTable } from '../../src/process/proc-table.js'
import { markerVariable } from '../../src/process/process-marker.js'
import { serverMarker, serverMarkerIn } from '../../src/process/server-marker.js'
import type { Run } from '../../src/protocol/runs.js'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { held, type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayModules, postJson, readNdjson, startGateway, type TestGateway } from '../support/gateway.js'
import { killAll, listProcesses, startStrandedLauncher, waitUntilGone } from '../support/processes.js'
import { readSse, readSseUntil } from '../support/sse-client.js'
import { tempDir } from '../support/temp.js'

const json = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T

/**
 * A mock model and a gateway (one run at a time, codex's reads confined) for a describe block, its mock reset after
 * each test.
 */
function confinedGateway() {
  const shared = {} as { mock: MockLlm; gw: TestGateway }
  beforeAll(async () => {
    shared.mock = await startMockLlm()
    shared.gw = await startGateway(shared.mock, { MAX_CONCURRENT_RUNS: '1', CODEX_CONFINE_READS: 'true' })
  })
  afterAll(async () => {
    await shared.gw?.close()
    await shared.mock?.close()
  })
  afterEach(() => shared.mock.reset())
  return shared
}

gatewayModules()

/**
 * Issue 9 items 3, 4 and 5 over real sockets, with the real codex and the mock model. Two lanes at once, each with
 * its own gateway and mock model, one test after another within a lane: the checks of what codex's commands read,
 * and the rest.
 */
describe('confinement: cwd at start and every turn, one danger-full-access policy, workspace-write', () => {
  describe.concurrent('cwd, danger-full-access, workspace-write, paths and images', () => {
    describe.sequential('one test after another', () => {
      const shared = confinedGateway()
      let mock: MockLlm
      let gw: TestGateway
      beforeAll(() => {
        ;({ mock, gw } = shared)
      })

      /** A directory inside the workspace, and a function that swaps it for a symlink to a directory outside. */
      /** Submits a run and waits for its run.started (it holds the one run slot while the mock answers late). */
      const startedRun = async (prompt: string) => {
        const run = await json<Run>(postJson(`${gw.url}/v1/runs`, { prompt }))
        await readSseUntil(
          await fetch(`${gw.url}/v1/runs/${run.id}/events`, { headers: { accept: 'text/event-stream' } }),
          (f) => f.event === 'run.started',
        )
        return run
      }

      /** Cancels `first` so `queued` may start; it must not: it fails (spawn_failed) without ever starting. */
      const refusedOnceFreed = async (first: Run, queued: Run) => {
        await postJson(`${gw.url}/v1/runs/${first.id}/cancel`, {})
        const frames = await readSse(
          await fetch(`${gw.url}/v1/runs/${queued.id}/events`, { headers: { accept: 'text/event-stream' } }),
        )
        expect(frames.map((f) => f.event)).not.toContain('run.started')
        const done = await json<Run>(fetch(`${gw.url}/v1/runs/${queued.id}`))
        expect(done).toMatchObject({ status: 'failed', reason: 'spawn_failed' })
        return done
      }

      const swappable = (name: string) => {
        const dir = path.join(gw.workspace, name)
        mkdirSync(dir)
        const outside = tempDir('outside-')
        const swap = () => {
          renameSync(dir, `${dir}-moved`)
          symlinkSync(outside, dir)
        }
        return { dir, outside, swap }
      }

      it('a queued run whose cwd became a symlink out of the workspace does not start', async () => {
        const { outside, swap } = swappable('queued-proj')
        mock.script(
          { kind: 'text', text: 'slow first', delayMs: 60_000 },
          { kind: 'exec_command', cmd: 'echo escaped > marker.txt' },
          { kind: 'text', text: 'escaped' },
        )
        const first = await startedRun('hold the slot')
        const queued = await json<Run>(
          postJson(`${gw.url}/v1/runs`, {
            prompt: 'write a marker',
            cwd: 'queued-proj',
            sandbox: 'workspace-write',
          }),
        )
        expect(queued.status).toBe('queued')
        swap()
        const done = await refusedOnceFreed(first, queued)
        expect(done.error).toMatch(/outside the workspace roots/)
        expect(JSON.stringify(mock.requests.map((r) => r.body))).not.toContain('write a marker')
        expect(readdirSync(outside)).toEqual([])
      })

      it('a session turn after its cwd became a symlink out of the workspace is refused', async () => {
        const { outside, swap } = swappable('session-proj')
        const session = await json<Session>(postJson(`${gw.url}/v1/sessions`, { cwd: 'session-proj' }))
        mock.script({ kind: 'text', text: 'first turn' })
        const t1 = await json<Turn>(
          postJson(`${gw.url}/v1/sessions/${session.id}/turns?wait=true`, { input: 'one' }),
        )
        expect(t1.status).toBe('completed')
        swap()
        mock.script(
          { kind: 'exec_command', cmd: 'echo escaped > marker.txt' },
          { kind: 'text', text: 'escaped' },
        )
        const before = mock.requests.length
        const res = await postJson(`${gw.url}/v1/sessions/${session.id}/turns?wait=true`, { input: 'two' })
        expect(res.status).toBe(400)
        expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
          /outside the workspace/,
        )
        expect(mock.requests.length).toBe(before)
        expect(readdirSync(outside)).toEqual([])
      })

      it('a session turn queued behind another is checked again when it starts: a cwd swapped meanwhile fails it', async () => {
        const { outside, swap } = swappable('queued-session-proj')
        const session = await json<Session>(postJson(`${gw.url}/v1/sessions`, { cwd: 'queued-session-proj' }))
        // the first turn runs until the model answers (held until the swap was checked); the second waits behind it
        const first = held({ kind: 'text', text: 'first turn' })
        mock.script(first.step)
        const t1 = await json<Turn>(postJson(`${gw.url}/v1/sessions/${session.id}/turns`, { input: 'one' }))
        const t2 = await json<Turn>(postJson(`${gw.url}/v1/sessions/${session.id}/turns`, { input: 'two' }))
        expect(t2.status).toBe('queued')
        swap()
        // the precondition: the second turn had not started when the cwd was swapped (the first still runs)
        const { turns } = await json<Session & { turns: Turn[] }>(
          fetch(`${gw.url}/v1/sessions/${session.id}`),
        )
        expect(turns.find((t) => t.id === t2.id)?.status).toBe('queued')
        mock.script(
          { kind: 'exec_command', cmd: 'echo escaped > marker.txt' },
          { kind: 'text', text: 'escaped' },
        )
        first.release()
        const frames = await readSseUntil(
          await fetch(`${gw.url}/v1/sessions/${session.id}/events`, {
            headers: { accept: 'text/event-stream' },
          }),
          (f) => f.event === 'turn.failed' || (f.event === 'turn.completed' && f.data.includes(t2.id)),
        )
        const ends = frames.filter((f) => f.event === 'turn.completed' || f.event === 'turn.failed')
        expect(ends.map((f) => [f.event, JSON.parse(f.data).turnId])).toEqual([
          ['turn.completed', t1.id],
          ['turn.failed', t2.id],
        ])
        expect(JSON.parse(ends[1]!.data).error).toMatch(/outside the workspace roots/)
        expect(JSON.stringify(mock.requests.map((r) => r.body))).not.toContain('echo escaped')
        expect(mock.requests.map((r) => JSON.stringify(r.body))).toHaveLength(1)
        expect(readdirSync(outside)).toEqual([])
      })

      describe('danger-full-access: one policy on every surface', () => {
        const refused = /ALLOW_DANGER_FULL_ACCESS=true/
        it.each<[string, string, Record<string, unknown>]>([
          ['/v1/runs', '/v1/runs', { prompt: 'x', sandbox: 'danger-full-access' }],
          ['/v1/sessions', '/v1/sessions', { sandbox: 'danger-full-access' }],
          ['/api/codex/run', '/api/codex/run', { prompt: 'x', sandbox: 'danger-full-access' }],
          ['/api/codex/stream', '/api/codex/stream', { prompt: 'x', sandbox: 'danger-full-access' }],
        ])('%s refuses it without the operator’s consent', async (_name, route, body) => {
          const res = await postJson(`${gw.url}${route}`, body)
          expect(res.status).toBe(400)
          expect(await res.text()).toMatch(refused)
          expect(mock.requests).toHaveLength(0)
        })

        it('ALLOW_DANGER_FULL_ACCESS=true lets /v1/runs and /v1/sessions use it', async () => {
          const allowed = await startGateway(mock, { ALLOW_DANGER_FULL_ACCESS: 'true' })
          try {
            // its commands read outside the cwd: danger-full-access is not confined (no permission profile)
            const outside = path.join(tempDir('dfa-'), 'readable.txt')
            const token = `DFA-${Math.random().toString(36).slice(2)}`
            writeFileSync(outside, token)
            mock.script(
              { kind: 'exec_command', cmd: `cat ${outside}` },
              { kind: 'text', text: 'full access' },
            )
            const run = await json<Run>(
              postJson(`${allowed.url}/v1/runs?wait=true`, { prompt: 'x', sandbox: 'danger-full-access' }),
            )
            expect(run).toMatchObject({ status: 'succeeded', finalResponse: 'full access' })
            expect(JSON.stringify(mock.requests.map((r) => r.body))).toContain(token)
            const res = await postJson(`${allowed.url}/v1/sessions`, { sandbox: 'danger-full-access' })
            expect(res.status).toBe(201)
          } finally {
            await allowed.close()
          }
        })
      })

      it('workspace-write in a codex session (app-server): writes in the cwd, not under /tmp', async () => {
        mkdirSync(path.join(gw.workspace, 'ws-session'))
        const tmpFile = path.join('/tmp', `agw-session-escape-${process.pid}-${Date.now()}`)
        const session = await json<Session>(
          postJson(`${gw.url}/v1/sessions`, {
            cwd: 'ws-session',
            sandbox: 'workspace-write',
            approvalPolicy: 'never',
          }),
        )
        mock.script(
          { kind: 'exec_command', cmd: `echo in > inside.txt; echo out > ${tmpFile}; true` },
          { kind: 'text', text: 'tried both' },
        )
        const turn = await json<Turn>(
          postJson(`${gw.url}/v1/sessions/${session.id}/turns?wait=true`, { input: 'write both' }),
        )
        expect(turn.status).toBe('completed')
        expect(existsSync(path.join(gw.workspace, 'ws-session', 'inside.txt'))).toBe(true)
        expect(existsSync(tmpFile)).toBe(false)
      })

      it('workspace-write: a command may write in its cwd but not under /tmp or $TMPDIR', async () => {
        const cwd = path.join(gw.workspace, 'ww-proj')
        mkdirSync(cwd)
        const tmpFile = path.join('/tmp', `agw-escape-${process.pid}-${Date.now()}`)
        mock.script(
          {
            kind: 'exec_command',
            cmd: `echo in > inside.txt; echo out > ${tmpFile}; echo tmp > "\${TMPDIR:-/tmp}/agw-tmpdir-${process.pid}"; true`,
          },
          { kind: 'text', text: 'tried both' },
        )
        const run = await json<Run>(
          postJson(`${gw.url}/v1/runs?wait=true`, {
            prompt: 'write',
            cwd: 'ww-proj',
            sandbox: 'workspace-write',
          }),
        )
        expect(run.status).toBe('succeeded')
        expect(existsSync(path.join(cwd, 'inside.txt'))).toBe(true)
        expect(existsSync(tmpFile)).toBe(false)
        expect(existsSync(`/tmp/agw-tmpdir-${process.pid}`)).toBe(false)
      })

      it('a path outside the workspace gets the same refusal whether it exists or not, also through a symlink', async () => {
        const outside = tempDir('probe-')
        mkdirSync(path.join(outside, 'dir'))
        writeFileSync(path.join(outside, 'file.txt'), 'secret')
        symlinkSync(path.join(outside, 'dir'), path.join(gw.workspace, 'link-to-existing'))
        symlinkSync(path.join(outside, 'missing'), path.join(gw.workspace, 'link-to-missing'))
        const probes = [
          path.join(outside, 'dir'),
          path.join(outside, 'missing'),
          path.join(outside, 'file.txt'),
          'link-to-existing',
          'link-to-missing',
          'link-to-existing/deeper',
          'link-to-missing/deeper',
        ]
        const answers: string[] = []
        for (const cwd of probes) {
          for (const [route, body] of [
            ['/v1/runs', { prompt: 'probe', cwd }],
            ['/v1/sessions', { cwd }],
          ] as const) {
            const res = await postJson(`${gw.url}${route}`, body)
            // the refusal names the path the client sent; all else must be equal
            answers.push(
              `${route} ${res.status} ${(await res.text()).replaceAll(JSON.stringify(cwd).slice(1, -1), '<cwd>')}`,
            )
          }
        }
        const runs = answers.filter((a) => a.startsWith('/v1/runs '))
        expect(new Set(runs).size, runs.join('\n')).toBe(1)
        expect(new Set(answers.filter((a) => a.startsWith('/v1/sessions '))).size).toBe(1)
        expect(runs[0]).toContain(' 400 ')
        expect(runs[0]).toContain('invalid_cwd')
        expect(mock.requests).toEqual([])
      })

      /** A 1x1 PNG: codex sends an image it can read to the model. */
      const png = Buffer.from(
        'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
        'base64',
      )
      const stagedDir = () => path.join(gw.env.DATA_DIR as string, 'run-images')

      it('an image is read into a private copy when the run starts; the copy is gone after it', async () => {
        writeFileSync(path.join(gw.workspace, 'pic.png'), png)
        mock.script({ kind: 'text', text: 'saw it' })
        const run = await json<Run>(
          postJson(`${gw.url}/v1/runs?wait=true`, { prompt: 'look at this', images: ['pic.png'] }),
        )
        expect(run).toMatchObject({ status: 'succeeded', finalResponse: 'saw it' })
        expect(JSON.stringify(mock.requests.at(-1)?.body)).toContain('input_image')
        expect(readdirSync(stagedDir())).toEqual([])
      })

      it('a queued run whose image became a symlink out of the workspace does not start', async () => {
        const image = path.join(gw.workspace, 'swapped.png')
        writeFileSync(image, png)
        const outside = path.join(tempDir('outside-image-'), 'secret.png')
        writeFileSync(outside, png)
        mock.script(
          { kind: 'text', text: 'slow first', delayMs: 60_000 },
          { kind: 'text', text: 'read the secret' },
        )
        const first = await startedRun('hold the slot')
        const queued = await json<Run>(
          postJson(`${gw.url}/v1/runs`, { prompt: 'describe the image', images: ['swapped.png'] }),
        )
        expect(queued.status).toBe('queued')
        renameSync(image, `${image}.moved`)
        symlinkSync(outside, image)
        const done = await refusedOnceFreed(first, queued)
        expect(done.error).toMatch(/image .*swapped\.png.* is not a regular file inside the workspace roots/)
        expect(JSON.stringify(mock.requests.map((r) => r.body))).not.toContain('describe the image')
        expect(readdirSync(stagedDir())).toEqual([])
      })
    })
  })

  describe.concurrent('codex commands read only their cwd (CODEX_CONFINE_READS)', () => {
    describe.sequential('one test after another', () => {
      const shared = confinedGateway()
      let mock: MockLlm
      let gw: TestGateway
      beforeAll(() => {
        ;({ mock, gw } = shared)
      })
      /**
       * A cwd with a file of its own, and three files outside it the gateway's user can read: one in DATA_DIR
       * (the store's directory), one in a sibling workspace (another tenant's), one beside the server's `.env`.
       * The model has a command print all four, then answers `answer`; only the first may reach the model.
       */
      const readers = (name: string, answer = 'read them', first: string[] = []) => {
        const token = (what: string) => `${what}-${name}-${Math.random().toString(36).slice(2)}`
        const cwd = path.join(gw.workspace, name)
        const sibling = path.join(gw.workspace, `${name}-other`)
        mkdirSync(cwd)
        mkdirSync(sibling)
        const inside = token('INSIDE')
        writeFileSync(path.join(cwd, 'inside.txt'), inside)
        const outside = {
          [path.join(gw.env.DATA_DIR as string, `${name}.secret`)]: token('DATADIR'),
          [path.join(sibling, 'secret.txt')]: token('SIBLING'),
          [path.join(gw.dir, `${name}.env`)]: token('ENVFILE'),
        }
        for (const [file, secret] of Object.entries(outside)) writeFileSync(file, secret)
        const cmd = [...first, 'cat inside.txt', ...Object.keys(outside).map((f) => `cat ${f}`), 'true'].join(
          '; ',
        )
        mock.script({ kind: 'exec_command', cmd }, { kind: 'text', text: answer })
        /** The command's output went back to the model: its own file, none of the others. */
        return () => {
          const sent = JSON.stringify(mock.requests.map((r) => r.body))
          expect(sent).toContain(inside)
          for (const secret of Object.values(outside)) expect(sent).not.toContain(secret)
        }
      }

      it('a read-only run on the running app-server (a warm run)', async () => {
        const sawOnlyItsOwn = readers('warm-reader')
        const run = await json<Run>(
          postJson(`${gw.url}/v1/runs?wait=true`, { prompt: 'read', cwd: 'warm-reader' }),
        )
        expect(run.status, JSON.stringify(run)).toBe('succeeded')
        sawOnlyItsOwn()
      })

      it('a read-only `codex exec` run (its output schema keeps it off the app-server)', async () => {
        const sawOnlyItsOwn = readers('exec-reader', '{"done":true}')
        const run = await json<Run>(
          postJson(`${gw.url}/v1/runs?wait=true`, {
            prompt: 'read',
            cwd: 'exec-reader',
            outputSchema: { type: 'object', properties: { done: { type: 'boolean' } } },
          }),
        )
        expect(run.status, JSON.stringify(run)).toBe('succeeded')
        sawOnlyItsOwn()
      })

      it('a turn of a read-only session (app-server thread)', async () => {
        const sawOnlyItsOwn = readers('session-reader')
        const session = await json<Session>(postJson(`${gw.url}/v1/sessions`, { cwd: 'session-reader' }))
        expect(session.id, JSON.stringify(session)).toBeTruthy()
        const turn = await json<Turn>(
          postJson(`${gw.url}/v1/sessions/${session.id}/turns?wait=true`, { input: 'read' }),
        )
        expect(turn.status).toBe('completed')
        sawOnlyItsOwn()
      })

      it('a workspace-write session reads as narrowly, and still writes its cwd', async () => {
        const sawOnlyItsOwn = readers('ww-reader', 'read them', ['echo written > written.txt'])
        const session = await json<Session>(
          postJson(`${gw.url}/v1/sessions`, {
            cwd: 'ww-reader',
            sandbox: 'workspace-write',
            approvalPolicy: 'never',
          }),
        )
        const turn = await json<Turn>(
          postJson(`${gw.url}/v1/sessions/${session.id}/turns?wait=true`, { input: 'read and write' }),
        )
        expect(turn.status).toBe('completed')
        sawOnlyItsOwn()
        expect(readFileSync(path.join(gw.workspace, 'ww-reader', 'written.txt'), 'utf8')).toBe('written\n')
      })

      it('codex-acp: a read-only one-shot run and a read-only session turn', async () => {
        const sawRun = readers('acp-run-reader')
        const run = await json<Run>(
          postJson(`${gw.url}/v1/runs?wait=true`, {
            agent: 'acp:codex-acp',
            prompt: 'read',
            cwd: 'acp-run-reader',
          }),
        )
        expect(run.status, JSON.stringify(run)).toBe('succeeded')
        sawRun()
        mock.reset()
        const sawTurn = readers('acp-session-reader')
        const session = await json<Session>(
          postJson(`${gw.url}/v1/sessions`, {
            agent: 'acp:codex-acp',
            cwd: 'acp-session-reader',
            approvalPolicy: 'never',
          }),
        )
        const turn = await json<Turn>(
          postJson(`${gw.url}/v1/sessions/${session.id}/turns?wait=true`, { input: 'read' }),
        )
        expect(turn.status, JSON.stringify(turn)).toBe('completed')
        sawTurn()
      })

      /**
       * Watches /proc while `during` runs for codex's file-system helper (`bwrap ... codex --codex-run-as-fs-helper`,
       * each level of it: codex-linux-sandbox, bwrap, its child in the sandbox's namespaces) started for this
       * gateway (its directories on the command line): each one seen, with the server marker its environment
       * carries as the sweeps read it (undefined: none) and its command line, at its first sighting.
       */
      const watchFsHelpers = async (during: () => Promise<void>) => {
        const seen = new Map<number, { marker: string | undefined; cmd: string }>()
        const look = () => {
          for (const name of readdirSync('/proc')) {
            if (!/^\d+$/.test(name) || seen.has(Number(name))) continue
            let cmd: string
            try {
              cmd = readFileSync(`/proc/${name}/cmdline`, 'latin1')
            } catch {
              continue // ended meanwhile
            }
            if (!cmd.includes('--codex-run-as-fs-helper') || !cmd.includes(gw.dir)) continue
            const environ = procTable().environ(Number(name))
            // none (or an empty one) while it exits: nothing to tell
            if (environ?.some((entry) => entry.startsWith('PATH=')))
              seen.set(Number(name), { marker: serverMarkerIn(environ), cmd: cmd.replaceAll('\0', ' ') })
          }
        }
        let watching = true
        const watcher = (async () => {
          while (watching) {
            look()
            await new Promise((resolve) => setTimeout(resolve, 5))
          }
        })()
        try {
          await during()
        } finally {
          watching = false
          await watcher
        }
        return seen
      }
      /** The helper processes started for this gateway that still run. */
      const fsHelpersLeft = () =>
        listProcesses().filter((p) => p.cmd.includes('--codex-run-as-fs-helper') && p.cmd.includes(gw.dir))

      /** The AGENT_GATEWAY_APP_SERVER entry of the shared app-server's environment (its marker). */
      const appServerMarker = () => {
        const pid = (gw.ctx.registry.get('codex') as CodexDriver).appServerPid
        const entry =
          pid &&
          procTable()
            .environ(pid)
            ?.find((e) => e.startsWith(`${markerVariable}=`))
        if (!entry) throw new Error(`no ${markerVariable} in the app-server's environment (pid ${pid})`)
        return { [markerVariable]: entry.slice(markerVariable.length + 1) }
      }
      let stranded: number | undefined
      afterEach(() => {
        if (stranded) killAll([{ pid: stranded, ppid: 0, pgid: 0, cwd: null, cmd: '' }])
        stranded = undefined
      })

      it("codex's file-system helpers carry the gateway's markers, and none outlives a run or a session turn (a launcher stranded in a turn without a command included)", async () => {
        const seen = await watchFsHelpers(async () => {
          mock.script({ kind: 'text', text: '{"done":true}' })
          const run = await json<Run>(
            postJson(`${gw.url}/v1/runs?wait=true`, {
              prompt: 'hi',
              outputSchema: { type: 'object', properties: { done: { type: 'boolean' } } },
            }),
          )
          expect(run.status, JSON.stringify(run)).toBe('succeeded')
          mkdirSync(path.join(gw.workspace, 'helper-session'))
          const session = await json<Session>(postJson(`${gw.url}/v1/sessions`, { cwd: 'helper-session' }))
          // a turn that runs no command: codex's helpers may strand a launcher in it all the same, which its end
          // sweeps (turn-directories.ts `startsHelpers`). One is staged while the turn runs (as the model is
          // asked), with the app-server's marker. Before, only a turn that ran a command swept, so it waited for
          // a later turn that did.
          mock.script(async () => {
            stranded = await startStrandedLauncher(appServerMarker())
            return { kind: 'text', text: 'hello' }
          })
          const turn = await json<Turn>(
            postJson(`${gw.url}/v1/sessions/${session.id}/turns?wait=true`, { input: 'hi' }),
          )
          expect(turn.status, JSON.stringify(turn)).toBe('completed')
        })
        // codex clears their environment but for PATH: the markers ride there (spawn-group.ts), so the sweeps that
        // end what a program left (its marker) and what a dead server left (the server's) find them
        expect(seen.size).toBeGreaterThan(0)
        const unmarked = [...seen.values()].filter((p) => p.marker !== serverMarker())
        expect(unmarked.map((p) => p.cmd.slice(0, 200))).toEqual([])
        expect(await waitUntilGone(fsHelpersLeft)).toEqual([])
        expect(stranded).toBeGreaterThan(0)
        expect(await waitUntilGone(() => listProcesses().filter((p) => p.pid === stranded))).toEqual([])
      })

      it('`codex exec` through POST /run, with `-s read-only` and with no sandbox named', async () => {
        for (const [name, sandbox] of [
          ['run-reader', ['-s', 'read-only']],
          ['run-default-reader', []],
        ] as const) {
          const sawOnlyItsOwn = readers(name)
          const frames = await readNdjson(
            await postJson(`${gw.url}/run`, {
              cli: 'codex',
              args: ['exec', '--json', '--skip-git-repo-check', ...sandbox, 'read'],
              cwd: name,
            }),
          )
          expect(frames.at(-1)).toEqual({ type: 'exit', code: 0 })
          sawOnlyItsOwn()
          mock.reset()
        }
      })
    })
  })
})
