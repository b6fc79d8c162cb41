import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Run } from '../../src/protocol/runs.js'
import { PostgresStore } from '../../src/store/postgres/postgres-store.js'
import { gatewayEnv, postJson, readNdjson } from '../support/gateway.js'
import { startPostgres, type TestPostgres } from '../support/postgres.js'
import { killAll, processesInGroup, processesUnder, waitUntilGone } from '../support/processes.js'
import { type ServerProcess, startServerProcess } from '../support/server-process.js'
import { readSseUntil } from '../support/sse-client.js'

function started(p: Awaited<ReturnType<typeof startServerProcess>>): ServerProcess {
  if (!('url' in p)) throw new Error(`gateway exited ${p.exitCode}:\n${p.output.join('\n')}`)
  return p
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const cli = (name: string, args: string[]) => ({ agent: 'cli', command: { cli: name, args } })

async function submit(node: ServerProcess, body: unknown, wait = false): Promise<Run> {
  const res = await postJson(`${node.url}/v1/runs${wait ? '?wait=true' : ''}`, body)
  if (res.status !== 202 && res.status !== 200) throw new Error(`submit: ${res.status} ${await res.text()}`)
  return (await res.json()) as Run
}

const getRun = async (node: ServerProcess, id: string) =>
  (await (await fetch(`${node.url}/v1/runs/${id}`)).json()) as Run

const eventsOf = async (node: ServerProcess, id: string) =>
  (await readNdjson(
    await fetch(`${node.url}/v1/runs/${id}/events`, { headers: { accept: 'application/x-ndjson' } }),
  )) as unknown as StoredEvent[]

/**
 * Issue 13: two API nodes and two workers (real processes) on one PostgreSQL server. Runs use the `cli`
 * agent (echo, sleep, sh), so the cluster, not an agent, is what is measured.
 */
describe('a cluster: 2 API nodes + 2 workers on PostgreSQL (real processes)', () => {
  let pg: TestPostgres
  let store: PostgresStore
  let workspace: string
  let env: Record<string, string | undefined>
  const nodes: ServerProcess[] = []
  let apiA: ServerProcess
  let apiB: ServerProcess
  let workers: ServerProcess[]

  async function startNode(role: 'api' | 'worker', name: string): Promise<ServerProcess> {
    const dataDir = path.join(path.dirname(workspace), `data-${name}`)
    mkdirSync(dataDir, { recursive: true })
    const node = started(
      await startServerProcess(
        { ...env, GATEWAY_ROLE: role, DATA_DIR: dataDir },
        path.dirname(workspace),
        90_000,
      ),
    )
    nodes.push(node)
    return node
  }

  /** The node id a gateway process registered (by its pid). */
  async function nodeIdOf(node: ServerProcess): Promise<string> {
    const record = (await store.listNodes()).find((n) => n.pid === node.child.pid)
    if (!record) throw new Error(`no node record for pid ${node.child.pid}`)
    return record.id
  }

  beforeAll(async () => {
    pg = await startPostgres()
    const url = await pg.createDatabase()
    store = await PostgresStore.open(url)
    const base = gatewayEnv(null, {
      DATABASE_URL: url,
      CLI_LIST: 'echo,sleep,sh',
      MAX_CONCURRENT_RUNS: '4',
      MAX_QUEUED_RUNS: '1000',
      NODE_TIMEOUT_SECONDS: '3',
      KILL_GRACE_MS: '200',
    })
    env = base.env
    workspace = base.workspace
    // One after the other: four processes compiling TypeScript at once take long on a busy machine.
    apiA = await startNode('api', 'a')
    apiB = await startNode('api', 'b')
    workers = [await startNode('worker', 'w1'), await startNode('worker', 'w2')]
  }, 400_000)

  afterAll(async () => {
    for (const node of nodes)
      if (node.child.exitCode === null && node.child.signalCode === null) await node.stop()
    if (workspace) killAll(await waitUntilGone(() => processesUnder(workspace), 5000))
    await store?.close()
    await pg?.stop()
  }, 60_000)

  it('200 runs submitted alternately to both API nodes each run exactly once, spread over both workers', async () => {
    const ids = await Promise.all(
      Array.from({ length: 200 }, (_, i) => submit(i % 2 ? apiB : apiA, cli('echo', [`run ${i}`]))),
    )
    await waitFor(
      async () => (await store.listRuns({ limit: 1000, status: 'succeeded' })).length >= 200,
      'all 200 runs to succeed',
      180_000,
    )
    const workerIds = await Promise.all(workers.map(nodeIdOf))
    const ranOn = new Map<string, number>()
    for (const [i, r] of ids.entries()) {
      const run = await store.getRun(r.id)
      expect(run).toMatchObject({ status: 'succeeded', exitCode: 0 })
      const owner = (await store.ownerOf(r.id))!
      expect(workerIds).toContain(owner)
      ranOn.set(owner, (ranOn.get(owner) ?? 0) + 1)
      const events = await store.eventsAfter(r.id, 0, 1000)
      expect(events.filter((e) => e.type === 'run.started')).toHaveLength(1)
      expect(events.filter((e) => e.type === 'run.completed')).toHaveLength(1)
      expect(events.map((e) => e.seq)).toEqual(events.map((_, k) => k + 1))
      const stdout = events.map((e) => (e.type === 'output' ? e.data : '')).join('')
      expect(stdout).toBe(`run ${i}\n`)
    }
    expect([...ranOn.keys()].sort()).toEqual([...workerIds].sort())
  }, 240_000)

  it('an SSE stream from API node A of a run on a worker is complete and ordered; Last-Event-ID on node B resumes it', async () => {
    const run = await submit(
      apiA,
      cli('sh', ['-c', 'for i in $(seq 1 40); do echo line $i; sleep 0.02; done']),
    )
    const sse = await fetch(`${apiA.url}/v1/runs/${run.id}/events`, {
      headers: { accept: 'text/event-stream' },
    })
    expect(sse.status).toBe(200)
    const frames = await readSseUntil(sse, (f) => f.event === 'run.completed')
    const seqs = frames.map((f) => Number(f.id))
    expect(seqs).toEqual(seqs.map((_, i) => i + 1))
    expect(frames.at(-1)?.event).toBe('run.completed')
    const stored = await eventsOf(apiB, run.id)
    expect(frames.map((f) => JSON.parse(f.data))).toEqual(stored)
    const lines = stored.map((e) => (e.type === 'output' ? e.data : '')).join('')
    expect(lines.split('\n').filter(Boolean)).toHaveLength(40)
    expect((await nodeIdOf(apiA)) === (await store.ownerOf(run.id))).toBe(false)

    const resumed = await fetch(`${apiB.url}/v1/runs/${run.id}/events`, {
      headers: { accept: 'text/event-stream', 'last-event-id': '5' },
    })
    const rest = await readSseUntil(resumed, (f) => f.event === 'run.completed')
    expect(rest.map((f) => JSON.parse(f.data))).toEqual(stored.filter((e) => e.seq > 5))
  }, 60_000)

  it('a cancel sent to API node B reaches the worker running the run; its process ends', async () => {
    const run = await submit(apiA, cli('sleep', ['60']))
    await waitFor(async () => (await getRun(apiB, run.id)).status === 'running', 'the run to start', 30_000)
    const pid = (await getRun(apiB, run.id)).pid!
    expect(processesInGroup(pid).length).toBeGreaterThan(0)
    const res = await postJson(`${apiB.url}/v1/runs/${run.id}/cancel`, {})
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ id: run.id, status: 'cancelled', reason: 'cancelled' })
    expect(await waitUntilGone(() => processesInGroup(pid))).toEqual([])
    const events = await eventsOf(apiA, run.id)
    expect(events.filter((e) => e.type === 'run.completed')).toHaveLength(1)
  }, 60_000)

  it('kill -9 of a worker: its runs become interrupted (worker_lost), the other worker goes on, no process is left; an API node restarts losing nothing', async () => {
    const sleepers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => submit(i % 2 ? apiB : apiA, cli('sleep', ['60']))),
    )
    await waitFor(
      async () =>
        (await Promise.all(sleepers.map((r) => getRun(apiA, r.id)))).every((r) => r.status === 'running'),
      'all eight runs to run',
      30_000,
    )
    const [victim, survivor] = workers as [ServerProcess, ServerProcess]
    const victimId = await nodeIdOf(victim)
    const owners = await Promise.all(sleepers.map((r) => store.ownerOf(r.id)))
    const lost = sleepers.filter((_, i) => owners[i] === victimId)
    const kept = sleepers.filter((_, i) => owners[i] !== victimId)
    expect(lost.length).toBe(4)
    const lostPids = await Promise.all(lost.map(async (r) => (await getRun(apiA, r.id)).pid!))
    victim.child.kill('SIGKILL')

    await waitFor(
      async () =>
        (await Promise.all(lost.map((r) => getRun(apiB, r.id)))).every(
          (r) => r.status === 'interrupted' && r.reason === 'worker_lost',
        ),
      'the lost worker runs to be interrupted',
      30_000,
    )
    for (const r of lost) {
      const events = await eventsOf(apiA, r.id)
      expect(events.map((e) => e.type)).toEqual(['run.queued', 'run.started', 'run.completed'])
    }
    expect(await waitUntilGone(() => lostPids.flatMap((pid) => processesInGroup(pid)))).toEqual([])
    for (const r of kept) expect((await getRun(apiA, r.id)).status).toBe('running')

    const after = await submit(apiB, cli('echo', ['still here']), true)
    expect(after.status).toBe('succeeded')
    expect(await store.ownerOf(after.id)).toBe(await nodeIdOf(survivor))
    for (const r of kept) await postJson(`${apiA.url}/v1/runs/${r.id}/cancel`, {})

    const before = await eventsOf(apiA, after.id)
    expect(await apiA.stop('SIGTERM')).toBe(0)
    apiA = await startNode('api', 'a2')
    expect(await eventsOf(apiA, after.id)).toEqual(before)
    expect(await getRun(apiA, after.id)).toMatchObject({ status: 'succeeded' })
  }, 240_000)
})
