import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { leftoversSweptMessage } from '../../src/core/ops/leftover-sweep.js'
import type { Run } from '../../src/protocol/runs.js'
import { held, type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayEnv, postJson, readNdjson } from '../support/gateway.js'
import { killAll, processesUnder, waitUntilGone } from '../support/processes.js'
import { type ServerProcess, spawnedBy, spawnHostOf, startServerProcess } from '../support/server-process.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A 1x1 PNG, for a run with an image. */
const png = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
)

function assertStarted(s: Awaited<ReturnType<typeof startServerProcess>>): ServerProcess {
  if (!('url' in s)) throw new Error(`server exited (${s.exitCode}):\n${s.output.join('\n')}`)
  return s
}

/** Polls `check`; 30 s is what a loaded 2-core machine may take (a server starting, codex asking the model). */
async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

async function getRun(url: string, id: string): Promise<Run> {
  const res = await fetch(`${url}/v1/runs/${id}`)
  expect(res.status).toBe(200)
  return (await res.json()) as Run
}

async function listRuns(url: string, status: string): Promise<Run[]> {
  const res = await fetch(`${url}/v1/runs?status=${status}&limit=100`)
  expect(res.status).toBe(200)
  return ((await res.json()) as { runs: Run[] }).runs
}

async function submit(url: string, body: Record<string, unknown>): Promise<Run> {
  const res = await postJson(`${url}/v1/runs`, body)
  expect(res.status).toBe(202)
  return (await res.json()) as Run
}

async function eventsOf(url: string, id: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/v1/runs/${id}/events`, {
    headers: { accept: 'application/x-ndjson', ...headers },
  })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/)
  return readNdjson(res)
}

/** The codex processes a server process started: its spawn host's children working in the workspace. */
const codexChildren = (server: ServerProcess, workspace: string) =>
  spawnedBy(server, processesUnder(workspace))

const alive = (server: ServerProcess) => server.child.exitCode === null && server.child.signalCode === null

/** Runs are durable: a crash, a graceful stop and a restart keep their records and event logs. */
describe('durable runs across server restarts (real processes)', () => {
  let mock: MockLlm
  const servers: ServerProcess[] = []
  const workspaces: string[] = []

  /** Starts a server process that afterEach stops if the test did not. */
  async function start(env: Record<string, string | undefined>, dir: string): Promise<ServerProcess> {
    const server = assertStarted(await startServerProcess(env, dir))
    servers.push(server)
    return server
  }

  beforeAll(async () => {
    mock = await startMockLlm()
  })
  afterEach(async () => {
    for (const server of servers.splice(0)) if (alive(server)) await server.stop('SIGTERM')
    for (const workspace of workspaces.splice(0))
      killAll(await waitUntilGone(() => processesUnder(workspace), 5000))
    mock.reset()
  })
  afterAll(async () => {
    await mock.close()
  })

  // with what the killed server staged for a run (an outputSchema's file, an image's copy): the same two server
  // processes (each start ~1-2 s of CPU), not two more of a case of its own
  it('after SIGKILL, a new server records the running runs as interrupted (server_lost) and ends their processes; it removes the files the killed one staged for its runs and their image copies, and no look-alike', async () => {
    mock.setDefault({ kind: 'text', text: 'never', delayMs: 30_000 })
    // One `codex exec` process group per run (the warm app-server path has no process of the run's own to
    // outlive the server): this is what recovery must find and end.
    // Without the key proxy: its connections die with the server, and a codex whose model call fails that way
    // ends itself at once, before this test looks for what outlived the server.
    const { env, dir, workspace } = gatewayEnv(mock, {
      MAX_CONCURRENT_RUNS: '6',
      CODEX_WARM_RUNS: 'false',
      MODEL_KEY_PROXY: 'false',
    })
    // its own temp dir: what the server stages for a run (an outputSchema's file) is made there
    const tmp = path.join(dir, 'tmp')
    mkdirSync(tmp)
    env.TMPDIR = tmp
    workspaces.push(workspace)
    writeFileSync(path.join(workspace, 'pic.png'), png)
    const first = await start(env, dir)
    const staged = () => readdirSync(tmp).filter((n) => n.startsWith('agent-gateway-staged-'))
    // the run's image is copied into DATA_DIR/run-images when it starts
    const runImages = path.join(env.DATA_DIR!, 'run-images')
    const copies = () => (existsSync(runImages) ? readdirSync(runImages).sort() : [])
    const outputSchema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }
    const runs = await Promise.all([
      ...Array.from({ length: 5 }, (_, i) => submit(first.url, { prompt: `crash ${i}` })),
      submit(first.url, { prompt: 'staged', outputSchema, images: ['pic.png'] }),
    ])
    // Each codex has sent its model request, so it has written its first events and then waits for the model:
    // a codex still starting (slow on a loaded machine) would write them after its reader died and end itself.
    await waitFor(
      async () =>
        (await listRuns(first.url, 'running')).length === 6 &&
        codexChildren(first, workspace).length === 6 &&
        mock.requests.filter((r) => !r.side).length === 6,
      'six running runs with six codex processes waiting for the model',
    )
    // the staged run's schema file and image copy (each with its owner file beside it)
    expect(staged()).toHaveLength(2)
    expect(copies()).toHaveLength(2)
    const [left, owner] = staged().sort() as [string, string]
    expect(owner).toBe(`${left}.owner`)
    // the agent's directory holds the staged file alone (a container mounts it): the owner file is beside it
    expect(readdirSync(path.join(tmp, left))).toEqual(['schema.json'])
    const [copy, copyOwner] = copies() as [string, string]
    expect(copyOwner).toBe(`${copy}.owner`)
    expect(readdirSync(path.join(runImages, copy))).toEqual(['0-pic.png'])
    const before = new Map(
      await Promise.all(runs.map(async (r) => [r.id, await getRun(first.url, r.id)] as const)),
    )
    for (const r of before.values()) expect(r.pid).toBeTypeOf('number')

    // The whole process tree dies at once (an out-of-memory kill of its cgroup): the spawn host first, which
    // would otherwise end the runs' processes itself when the server is gone (test/e2e/session-processes.test.ts)
    const host = spawnHostOf(first)
    expect(host).toBeTypeOf('number')
    process.kill(host!, 'SIGKILL')
    first.child.kill('SIGKILL')
    expect(await first.stop()).toBeNull()
    expect(first.child.signalCode).toBe('SIGKILL')
    // Nothing ended the codex process groups (they lead their own): they outlive the server... (a codex that
    // writes its first event after its reader died ends itself with SIGPIPE, so not necessarily all five)
    const pids = new Set([...before.values()].map((r) => r.pid))
    expect(processesUnder(workspace).filter((p) => pids.has(p.pid)).length).toBeGreaterThan(0)
    // nor its staged files, its image copies and its spawn host's listener directory (the host died with it)
    expect(staged()).toEqual([left, owner])
    expect(copies()).toEqual([copy, copyOwner])
    const spawnDirs = () => readdirSync(tmp).filter((n) => n.startsWith('agent-gateway-spawn-'))
    const [listener] = spawnDirs() as [string]
    expect(spawnDirs()).toEqual([listener])
    // look-alikes: a directory of that name with no owner file of a gateway beside it, in each place
    const lookAlike = path.join(tmp, 'agent-gateway-staged-2147483646-AbC123')
    mkdirSync(lookAlike)
    writeFileSync(path.join(lookAlike, 'keep'), '')
    const imageLookAlike = path.join(runImages, 'run_lookalike-AbC123')
    mkdirSync(imageLookAlike)
    writeFileSync(path.join(imageLookAlike, 'keep'), '')

    const second = await start(env, dir)
    // the new server sweeps in the background once it listens: its log line says when it is done
    const swept = JSON.parse(await second.logged(leftoversSweptMessage))
    // one readdir of the temp dir found the staged files and the listener directory
    expect(swept).toMatchObject({ tempDirs: 2, runImages: 1, cancelled: false })
    expect(spawnDirs()).not.toContain(listener)
    expect(staged()).toEqual([path.basename(lookAlike)])
    expect(existsSync(path.join(lookAlike, 'keep'))).toBe(true)
    expect(copies()).toEqual([path.basename(imageLookAlike)])
    expect(existsSync(path.join(imageLookAlike, 'keep'))).toBe(true)
    for (const { id } of runs) {
      const run = await getRun(second.url, id)
      expect(run.status).toBe('interrupted')
      expect(run.reason).toBe('server_lost')
      expect(run.finishedAt).not.toBeNull()
      expect(run.startedAt).toBe(before.get(id)!.startedAt)
      const events = await eventsOf(second.url, id)
      const types = events.map((e) => e.type)
      expect(types).toContain('run.queued')
      expect(types).toContain('run.started')
      expect(types.indexOf('run.queued')).toBeLessThan(types.indexOf('run.started'))
      expect(types.filter((t) => t === 'run.completed')).toHaveLength(1)
      expect(events.at(-1)).toMatchObject({
        type: 'run.completed',
        status: 'interrupted',
        reason: 'server_lost',
        runId: id,
      })
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1))
      expect(run.lastSeq).toBe(events.length)
    }
    expect((await listRuns(second.url, 'running')).length).toBe(0)
    expect((await listRuns(second.url, 'interrupted')).length).toBe(6)
    // ...until the new server's recovery ends them.
    expect(await waitUntilGone(() => processesUnder(workspace), 10_000)).toEqual([])

    // The store opened cleanly: new runs are accepted and finish.
    mock.script({ kind: 'text', text: 'fresh after the crash' })
    const fresh = await postJson(`${second.url}/v1/runs?wait=true`, { prompt: 'fresh' })
    expect(fresh.status).toBe(200)
    const freshRun = (await fresh.json()) as Run
    expect(freshRun.status).toBe('succeeded')
    expect(freshRun.finalResponse).toBe('fresh after the crash')

    expect(await second.stop('SIGTERM')).toBe(0)
    const db = new Database(path.join(env.DATA_DIR!, 'agent-gateway.db'))
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
      const rows = db.prepare('SELECT status, COUNT(*) AS n FROM runs GROUP BY status ORDER BY status').all()
      expect(rows).toEqual([
        { status: 'interrupted', n: 6 },
        { status: 'succeeded', n: 1 },
      ])
    } finally {
      db.close()
    }
  }, 180_000)

  // this case and the next start two server processes each: 28.8 s and 37.7 s of their 60 s in a CI run at load 13-16
  // (session 37), the work of the processes, not a wait
  it('SIGTERM lets a running run finish within SHUTDOWN_GRACE_SECONDS, then exits 0', async () => {
    // the answer is held until the server is shutting down: the run certainly finishes during the grace period
    const answer = held({ kind: 'text', text: 'finished during shutdown' })
    mock.setDefault(answer.step)
    const { env, dir, workspace } = gatewayEnv(mock, { SHUTDOWN_GRACE_SECONDS: '10' })
    workspaces.push(workspace)
    const first = await start(env, dir)
    const { id } = await submit(first.url, { prompt: 'finish me' })
    await answer.asked
    expect((await getRun(first.url, id)).status).toBe('running')

    const stopped = first.stop('SIGTERM')
    await waitFor(() => first.output.some((l) => l.includes('shutting down')), 'the shutdown to begin')
    answer.release()
    expect(await stopped).toBe(0)
    const exitedAt = Date.now()
    expect(await waitUntilGone(() => processesUnder(workspace))).toEqual([])

    const second = await start(env, dir)
    const run = await getRun(second.url, id)
    expect(run.status).toBe('succeeded')
    expect(run.reason).toBe('exited')
    expect(run.finalResponse).toBe('finished during shutdown')
    expect(Date.parse(run.finishedAt!)).toBeLessThanOrEqual(exitedAt)
    const events = await eventsOf(second.url, id)
    expect(events.at(-1)).toMatchObject({ type: 'run.completed', status: 'succeeded' })
    expect(await second.stop('SIGTERM')).toBe(0)
    expect(await waitUntilGone(() => processesUnder(workspace))).toEqual([])
  }, 120_000)

  // with the replay of a finished run's events from Last-Event-ID after the restart: the same two server processes
  // (each start ~1-2 s of CPU), not two more of a case of its own
  it("SIGTERM ends a run that outlasts SHUTDOWN_GRACE_SECONDS as interrupted (shutdown); a finished run's events are replayed after the restart from Last-Event-ID", async () => {
    // the first run finishes; every later answer is held past the test
    mock.script({ kind: 'text', text: 'kept across restarts' })
    mock.setDefault({ kind: 'text', text: 'never', delayMs: 30_000 })
    // The run's own `codex exec` process group is what the shutdown must end (see the SIGKILL case).
    const { env, dir, workspace } = gatewayEnv(mock, {
      SHUTDOWN_GRACE_SECONDS: '1',
      CODEX_WARM_RUNS: 'false',
    })
    workspaces.push(workspace)
    const first = await start(env, dir)
    const done = await postJson(`${first.url}/v1/runs?wait=true`, { prompt: 'persist me' })
    expect(done.status).toBe(200)
    const finished = (await done.json()) as Run
    expect(finished.status).toBe('succeeded')
    expect(finished.finalResponse).toBe('kept across restarts')
    const before = await eventsOf(first.url, finished.id)
    expect(before.length).toBeGreaterThan(3)
    expect(before.at(-1)).toMatchObject({ type: 'run.completed', status: 'succeeded' })
    const { id } = await submit(first.url, { prompt: 'too long for the grace period' })
    await waitFor(
      async () =>
        (await getRun(first.url, id)).status === 'running' && codexChildren(first, workspace).length === 1,
      'the run and its codex process',
    )

    const stopping = Date.now()
    expect(await first.stop('SIGTERM')).toBe(0)
    // the grace period (1 s) and the kill, on a loaded machine: far below the 30 s a run left alone would take
    expect(Date.now() - stopping).toBeLessThan(15_000)
    expect(await waitUntilGone(() => processesUnder(workspace))).toEqual([])

    const second = await start(env, dir)
    const run = await getRun(second.url, id)
    expect(run.status).toBe('interrupted')
    expect(run.reason).toBe('shutdown')
    const events = await eventsOf(second.url, id)
    expect(events.filter((e) => e.type === 'run.completed')).toHaveLength(1)
    expect(events.at(-1)).toMatchObject({ type: 'run.completed', status: 'interrupted', reason: 'shutdown' })
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1))
    // the finished run: its events from after Last-Event-ID, as the first server served them, and its record
    const after = await eventsOf(second.url, finished.id, { 'last-event-id': '2' })
    expect(after[0]?.seq).toBe(3)
    expect(after.at(-1)?.seq).toBe(before.at(-1)?.seq)
    expect(after).toEqual(before.filter((e) => (e.seq as number) > 2))
    expect(await getRun(second.url, finished.id)).toEqual(finished)
    expect(await second.stop('SIGTERM')).toBe(0)
  }, 180_000)
})
