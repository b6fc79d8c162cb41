import { mkdirSync } from 'node:fs'
import path from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import type { PostgresStore } from '../../src/store/postgres/postgres-store.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayEnv, postJson } from '../support/gateway.js'
import { killAll, processesUnder, waitUntilGone } from '../support/processes.js'
import { type ServerProcess, startServerProcess } from '../support/server-process.js'
import { sharedPostgres } from '../support/shared-postgres.js'

/** Polls `check` (a store or HTTP read) until it holds: what another process does has no event to wait on here. */
async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const metric = async (node: ServerProcess, name: string): Promise<number | undefined> => {
  const text = await (await fetch(`${node.url}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return line === undefined ? undefined : Number(line.split(' ')[1])
}

/**
 * Fencing: two gateway nodes (role `all`, real processes) on one PostgreSQL. Node A holds a session with a turn
 * the model takes its time over; A is paused (SIGSTOP) past NODE_TIMEOUT_SECONDS, B takes the session over and
 * runs the next turn; A resumes believing it still drives the session. Its next write (the turn's end) carries
 * its stale claim and is refused by the store: the client waiting on A gets 503 session_taken_over, B's record
 * stays, and A lets go of the session.
 */
describe('session fencing: a paused node that resumes drives nothing of a session taken over', () => {
  const pgServer = sharedPostgres()
  let mock: MockLlm
  let store: PostgresStore
  let workspace: string
  const nodes: ServerProcess[] = []

  async function startNode(env: Record<string, string | undefined>, name: string): Promise<ServerProcess> {
    const dataDir = path.join(path.dirname(workspace), `data-${name}`)
    mkdirSync(dataDir, { recursive: true })
    const p = await startServerProcess({ ...env, DATA_DIR: dataDir }, path.dirname(workspace), 90_000)
    if (!('url' in p)) throw new Error(`gateway exited ${p.exitCode}:\n${p.output.join('\n')}`)
    nodes.push(p)
    return p
  }

  const nodeIdOf = async (node: ServerProcess): Promise<string> => {
    const record = (await store.listNodes()).find((n) => n.pid === node.child.pid)
    if (!record) throw new Error(`no node record for pid ${node.child.pid}`)
    return record.id
  }

  let a: ServerProcess
  let b: ServerProcess
  let admin: pg.Client

  /** Whether no connection but this one is in a statement or a transaction (PostgreSQL's own view). */
  const quiet = async (): Promise<boolean> => {
    const { rows } = await admin.query(
      `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
       AND state IN ('active', 'idle in transaction')`,
    )
    return rows.length === 0
  }

  /**
   * Pauses `node` (SIGSTOP) outside any transaction of its own: paused inside one, it would hold its row locks
   * (a session's, while it appends events) and the takeover would wait for them until it resumes. Paused at a
   * bad moment, it resumes and is paused again.
   */
  async function pauseOutsideTransactions(node: ServerProcess): Promise<void> {
    for (let attempt = 0; attempt < 50; attempt++) {
      process.kill(node.child.pid!, 'SIGSTOP')
      for (let i = 0; i < 20; i++) if (await quiet()) return
      process.kill(node.child.pid!, 'SIGCONT')
      await new Promise((r) => setImmediate(r))
    }
    throw new Error('the node never paused outside a transaction')
  }

  beforeAll(async () => {
    mock = await startMockLlm()
    const url = await pgServer.createDatabase()
    store = await pgServer.openStore(url)
    admin = new pg.Client({ connectionString: url })
    await admin.connect()
    // one workspace and one CODEX_HOME for both nodes (a shared volume): B resumes the thread A started
    const base = gatewayEnv(mock, { DATABASE_URL: url, NODE_TIMEOUT_SECONDS: '5', KILL_GRACE_MS: '200' })
    workspace = base.workspace
    a = await startNode(base.env, 'a')
    b = await startNode(base.env, 'b')
  }, 240_000)

  afterAll(async () => {
    for (const node of nodes) {
      if (node.child.exitCode === null && node.child.signalCode === null) {
        node.child.kill('SIGCONT')
        await node.stop()
      }
    }
    if (workspace) killAll(await waitUntilGone(() => processesUnder(workspace), 5000))
    await admin?.end()
    await mock?.close()
  }, 60_000)

  it('A paused past its timeout: B takes over and answers; A, resumed, gets its write refused and answers 503', async () => {
    const [idA, idB] = [await nodeIdOf(a), await nodeIdOf(b)]
    mock.script({ kind: 'text', text: 'too late', delayMs: 120_000 }, { kind: 'text', text: 'from B' })
    const created = await postJson(`${a.url}/v1/sessions`, {})
    expect(created.status).toBe(201)
    const session = (await created.json()) as Session
    expect(await store.ownerOf(session.id)).toBe(idA)
    // the client waits on A for a turn the model takes its time over
    const waiting = postJson(`${a.url}/v1/sessions/${session.id}/turns?wait=true`, {
      input: 'take your time',
    })
    await waitFor(
      async () => (await store.listTurns(session.id, 'running')).length === 1,
      'the turn to run on A',
      60_000,
    )
    const [slow] = await store.listTurns(session.id, 'running')
    // A waits for the model now (its request is in): then it writes nothing until the answer comes
    await waitFor(async () => mock.requests.some((r) => !r.side), 'the model request of the turn', 60_000)
    const pausedAt = Date.now()
    await pauseOutsideTransactions(a)
    try {
      await waitFor(
        async () => (await store.ownerOf(session.id)) === idB,
        'B to take the session over',
        60_000,
      )
      // B failed the turn in flight (session-recovery.ts), after it took the session
      await waitFor(
        async () => (await store.getTurn(slow!.id))?.status === 'failed',
        'B to fail the turn',
        30_000,
      )
    } finally {
      process.kill(a.child.pid!, 'SIGCONT')
    }
    // A wakes believing it holds the session and still runs its turn: its write is refused (the turn's end carries
    // a stale claim), it lets go of the session, and the client waiting on A is told so
    const refused = await waiting
    expect(refused.status).toBe(503)
    const body = (await refused.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe('session_taken_over')
    expect(body.error.message).toMatch(new RegExp(`session ${session.id} was taken over by .*retry`))
    // Once A let go of the thread (its agent closed before it registers again), B drives the session: it
    // reopens the thread (codex allows one writer per thread) and runs the next turn
    await waitFor(
      async () =>
        (await store.listNodes()).some((n) => n.pid === a.child.pid && Date.parse(n.startedAt) > pausedAt),
      'A to rejoin',
      30_000,
    )
    const onB = await postJson(`${b.url}/v1/sessions/${session.id}/turns?wait=true`, { input: 'go on' })
    const turnOnB = (await onB.json()) as Turn
    expect(onB.status, JSON.stringify(turnOnB)).toBe(200)
    expect(turnOnB).toMatchObject({ status: 'completed', finalResponse: 'from B' })
    // A, back in the cluster, forwards the session's next turn to B, which drives it alone
    mock.script({ kind: 'text', text: 'still B' })
    const next = await postJson(`${a.url}/v1/sessions/${session.id}/turns?wait=true`, { input: 'and now?' })
    expect(next.status).toBe(200)
    expect((await next.json()) as Turn).toMatchObject({ status: 'completed', finalResponse: 'still B' })
    // B's record stands: the slow turn failed once (B's turn.failed), nothing of A's end landed
    expect(await store.getTurn(slow!.id)).toMatchObject({ status: 'failed', finalResponse: null })
    const ends = (await store.eventsAfter(session.id, 0, 10_000)).filter(
      (e) => e.type === 'turn.completed' || e.type === 'turn.failed',
    )
    expect(ends.map((e) => [e.type, 'turnId' in e ? e.turnId : null])).toEqual([
      ['turn.failed', slow!.id],
      ['turn.completed', turnOnB.id],
      ['turn.completed', expect.any(String)],
    ])
    // nothing A appended for its slow turn after B failed it was stored: A's events carry its stale claim
    const events = await store.eventsAfter(session.id, 0, 10_000)
    const failedAt = events.findIndex((e) => e.type === 'turn.failed' && e.turnId === slow!.id)
    const lateOfA = events.slice(failedAt + 1).filter((e) => 'turnId' in e && e.turnId === slow!.id)
    expect(lateOfA.map((e) => e.type)).toEqual([])
    expect(await store.ownerOf(session.id)).toBe(idB)
    // the slow turn ran on A before B failed it: it counts, with B's two (session-state.ts, turnCount)
    expect(await store.getSession(session.id)).toMatchObject({ status: 'idle', turnCount: 3 })
    // A let go of the session (one warn line naming it and A) and says it was fenced; B counts A as lost
    expect(await metric(a, 'agent_gateway_node_fenced')).toBe(1)
    const letGo = a.output.filter((l) => l.includes('"level":40') && l.includes(session.id))
    expect(letGo).toHaveLength(1)
    expect(letGo[0]).toContain(idA)
    expect(a.output.some((l) => l.includes('"level":50') && l.includes('taken for dead'))).toBe(true)
    expect(await metric(a, 'agent_gateway_sessions_let_go_total')).toBe(1)
    expect(await metric(b, 'agent_gateway_nodes_lost_total')).toBe(1)
    expect(await metric(b, 'agent_gateway_takeovers_failed_total')).toBe(0)
  }, 300_000)
})
