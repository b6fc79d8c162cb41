import { existsSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ClusterSessions, SessionCluster } from '../../src/core/cluster-sessions.js'
import type { LiveSessions } from '../../src/core/live-sessions.js'
import { serveSessionCalls } from '../../src/core/serve-session-calls.js'
import { heldByOlderNode } from '../../src/core/turn-call.js'
import { queuedTurn } from '../../src/core/turn-queue.js'
import { AppError } from '../../src/protocol/errors.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { newApproval } from '../contract/store-contract.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { codexRequestsOf, failCodexSteers } from '../support/codex-requests.js'
import {
  finishedTurnAt,
  gatewayModules,
  postJson,
  requestInput,
  startGateway,
  type TestGateway,
} from '../support/gateway.js'
import { dataUrlOf, onePixelPng } from '../support/png.js'
import { parsePrometheus, sample } from '../support/prometheus.js'
import { sharedPostgres } from '../support/shared-postgres.js'
import { readSseUntil } from '../support/sse-client.js'

gatewayModules()

/**
 * Issue 13: sessions on two gateway nodes (role `all`, real codex, one PostgreSQL): an approval the agent on
 * node A asked for is answered on node B (and its stream is followed on B); a turn sent to B runs on A; the
 * cluster-wide MAX_QUEUED_RUNS bound answers 429 on either node.
 */
describe('sessions across two nodes on PostgreSQL (real codex)', () => {
  const pg = sharedPostgres()
  let mock: MockLlm
  let a: TestGateway
  let b: TestGateway
  /** Node B's log lines (JSON). */
  const bLog: string[] = []

  beforeAll(async () => {
    mock = await startMockLlm()
    const url = await pg.createDatabase()
    const limits = { CLI_LIST: 'sleep', MAX_CONCURRENT_RUNS: '1', MAX_QUEUED_RUNS: '2' }
    a = await startGateway(mock, { DATABASE_URL: url, ...limits })
    b = await startGateway(
      mock,
      {
        DATABASE_URL: url,
        ...limits,
        WORKSPACE_DIR: a.workspace,
        CODEX_HOME: a.env.CODEX_HOME,
        LOG_LEVEL: 'warn',
        LOG_FORMAT: 'json',
      },
      { logSink: { write: (line) => void bLog.push(line) } },
    )
  }, 60_000)
  afterAll(async () => {
    await b?.close()
    await a?.close()
    await mock?.close()
  })

  const json = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T

  it('an approval asked on node A is answered on node B and reaches the agent', async () => {
    mock.reset()
    const session = await json<Session>(
      postJson(`${a.url}/v1/sessions`, { approvalPolicy: 'untrusted', sandbox: 'workspace-write' }),
    )
    mock.script({ kind: 'exec_command', cmd: 'echo yes > approved.txt' }, { kind: 'text', text: 'wrote it' })
    const stream = fetch(`${b.url}/v1/sessions/${session.id}/events`, {
      headers: { accept: 'text/event-stream' },
    })
    const started = await json<Turn>(
      postJson(`${a.url}/v1/sessions/${session.id}/turns`, { input: 'write it' }),
    )
    const frames = await readSseUntil(await stream, (f) => f.event === 'approval.requested')
    const requested = JSON.parse(frames.at(-1)!.data) as StoredEvent & { approvalId: string }
    const answered = await postJson(`${b.url}/v1/approvals/${requested.approvalId}`, { decision: 'accept' })
    expect(answered.status).toBe(200)
    expect(
      (await postJson(`${a.url}/v1/approvals/${requested.approvalId}`, { decision: 'decline' })).status,
    ).toBe(409)
    const deadline = Date.now() + 30_000
    let turn = started
    while (turn.status !== 'completed' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100))
      turn = (
        await json<Session & { turns: Turn[] }>(fetch(`${a.url}/v1/sessions/${session.id}`))
      ).turns.find((t) => t.id === started.id)!
    }
    expect(turn).toMatchObject({ status: 'completed', finalResponse: 'wrote it' })
    expect(existsSync(path.join(session.cwd, 'approved.txt'))).toBe(true)

    // A turn sent to node B runs on node A, which holds the thread (B forwards it; nothing is reopened on B).
    mock.script({ kind: 'text', text: 'via b' })
    const viaB = await json<Turn>(
      postJson(`${b.url}/v1/sessions/${session.id}/turns?wait=true`, { input: 'through b' }),
    )
    expect(viaB).toMatchObject({ status: 'completed', finalResponse: 'via b' })
    expect(await a.ctx.store.ownerOf(session.id)).toBe(a.ctx.node.id)
    expect(requestInput(mock)).toContain('write it')
  }, 60_000)

  it("a turn's approvalPolicy goes along when node B forwards the turn to node A: the command asks", async () => {
    mock.reset()
    const session = await json<Session>(
      postJson(`${a.url}/v1/sessions`, { approvalPolicy: 'never', sandbox: 'workspace-write' }),
    )
    mock.script({ kind: 'exec_command', cmd: 'echo asked > asked.txt' }, { kind: 'text', text: 'wrote it' })
    const stream = fetch(`${a.url}/v1/sessions/${session.id}/events`, {
      headers: { accept: 'text/event-stream' },
    })
    const started = await postJson(`${b.url}/v1/sessions/${session.id}/turns`, {
      input: 'write it',
      approvalPolicy: 'untrusted',
    })
    expect(started.status).toBe(202)
    const frames = await readSseUntil(await stream, (f) => f.event === 'approval.requested')
    const requested = JSON.parse(frames.at(-1)!.data) as StoredEvent & { approvalId: string }
    expect(existsSync(path.join(session.cwd, 'asked.txt'))).toBe(false)
    const turn = (await started.json()) as Turn

    // Steers sent to node B go to node A, into its running turn. The first one codex answers with an error: it is
    // withdrawn on A, and B's answer says so (`withdrawn`: its turn.steer_failed is stored), as A's would.
    const restoreSteers = failCodexSteers(codexRequestsOf(a.ctx.registry))
    let failed: Response
    try {
      failed = await postJson(`${b.url}/v1/sessions/${session.id}/turns`, {
        input: 'lost words',
        onBusy: 'steer',
      })
    } finally {
      restoreSteers()
    }
    expect(failed.status).toBe(500)
    expect(await failed.json()).toMatchObject({
      error: { code: 'agent_failed', details: { turnId: turn.id, withdrawn: true } },
    })
    const steered = await postJson(`${b.url}/v1/sessions/${session.id}/turns`, {
      input: 'and say so',
      onBusy: 'steer',
    })
    expect(steered.status).toBe(202)
    expect(((await steered.json()) as Turn).id).toBe(turn.id)

    expect(
      (await postJson(`${a.url}/v1/approvals/${requested.approvalId}`, { decision: 'decline' })).status,
    ).toBe(200)
    expect(await finishedTurnAt(a.url, session.id, turn.id)).toMatchObject({
      status: 'completed',
      steered: [[{ type: 'text', text: 'and say so' }]],
    })
    expect(existsSync(path.join(session.cwd, 'asked.txt'))).toBe(false)
    expect(await a.ctx.store.ownerOf(session.id)).toBe(a.ctx.node.id)
    expect(requestInput(mock)).toContain('and say so')
    expect(requestInput(mock)).not.toContain('lost words')
  }, 60_000)

  it("a node of an older version, which would ignore a turn's options, gets none: the turn is refused (409), nothing runs", async () => {
    mock.reset()
    const session = await json<Session>(postJson(`${a.url}/v1/sessions`, { approvalPolicy: 'never' }))
    // node A as a node of the version before turn options answers their method: it has no handler for it
    // (reached through its session manager: a running node's handlers cannot be taken away otherwise)
    const calls = (a.ctx.sessions as unknown as { cluster: SessionCluster }).cluster.calls
    calls.handle('session.turnWithOptions', async () => {
      throw new AppError('internal', `node ${a.ctx.node.id} does not answer session.turnWithOptions`)
    })
    try {
      const refused = await postJson(`${b.url}/v1/sessions/${session.id}/turns`, {
        input: 'write it',
        approvalPolicy: 'untrusted',
      })
      const body = (await refused.json()) as { error: { code: string; message: string } }
      expect(refused.status, JSON.stringify(body)).toBe(409)
      expect(body.error.message).toContain('older version of the gateway')
      const read = await json<Session & { turns: Turn[] }>(fetch(`${a.url}/v1/sessions/${session.id}`))
      expect(read.turns).toEqual([])
      expect(mock.requests).toHaveLength(0)
      // a turn without options still goes to it as before
      mock.script({ kind: 'text', text: 'plain' })
      const plain = await json<Turn>(
        postJson(`${b.url}/v1/sessions/${session.id}/turns?wait=true`, { input: 'no options' }),
      )
      expect(plain).toMatchObject({ status: 'completed', finalResponse: 'plain' })
    } finally {
      serveSessionCalls(calls, () => a.ctx.sessions as ClusterSessions)
    }
  }, 60_000)

  it("a keyed turn's id goes to no owner of an older version, which would start the turn under an id of its own: 409, nothing runs, the key free again", async () => {
    mock.reset()
    const session = await json<Session>(postJson(`${a.url}/v1/sessions`, {}))
    // node A as a node of the version before turn ids answers session.turnWith without knowing the need turnId
    const calls = (a.ctx.sessions as unknown as { cluster: SessionCluster }).cluster.calls
    calls.handle<{ id: string; needs: string[] }>('session.turnWith', async (p) => {
      const lacking = p.needs.filter((n) => n !== 'options' && n !== 'images')
      throw heldByOlderNode(p.id, a.ctx.node.id, lacking)
    })
    const send = () =>
      postJson(
        `${b.url}/v1/sessions/${session.id}/turns?wait=true`,
        { input: 'once' },
        { 'idempotency-key': 'old-1' },
      )
    try {
      const refused = await send()
      const body = (await refused.json()) as { error: { code: string; message: string } }
      expect(refused.status, JSON.stringify(body)).toBe(409)
      expect(body.error.message).toContain("a turn id of its caller's choosing")
      expect(
        (await json<Session & { turns: Turn[] }>(fetch(`${a.url}/v1/sessions/${session.id}`))).turns,
      ).toEqual([])
      expect(mock.requests).toHaveLength(0)
    } finally {
      serveSessionCalls(calls, () => a.ctx.sessions as ClusterSessions)
    }
    // node A of this version: the key, let go of, starts the turn; the retry on A answers it
    const made = await json<Turn>(send())
    expect(made.status).toBe('completed')
    const again = await postJson(
      `${a.url}/v1/sessions/${session.id}/turns`,
      { input: 'once' },
      { 'idempotency-key': 'old-1' },
    )
    expect(again.status).toBe(200)
    expect(((await again.json()) as Turn).id).toBe(made.id)
  }, 60_000)

  it("a turn with image items goes to an owner of an older version, which would misread them, not at all (409); this version's owner applies them", async () => {
    mock.reset()
    const session = await json<Session>(postJson(`${a.url}/v1/sessions`, {}))
    writeFileSync(path.join(session.cwd, 'dot.png'), onePixelPng)
    const images = [
      { type: 'text', text: 'what is in the pictures?' },
      { type: 'localImage', path: 'dot.png' },
      { type: 'image', url: dataUrlOf(onePixelPng) },
    ]
    // node A as a node of a version before image items: it has no handler for the method such a turn goes by
    // (`session.turn`, which it answers, would have it take the image items for text)
    const calls = (a.ctx.sessions as unknown as { cluster: SessionCluster }).cluster.calls
    calls.handle('session.turnWith', async () => {
      throw new AppError('internal', `node ${a.ctx.node.id} does not answer session.turnWith`)
    })
    let plainTurn: Turn | undefined
    try {
      const refused = await postJson(`${b.url}/v1/sessions/${session.id}/turns`, { input: images })
      const body = (await refused.json()) as { error: { code: string; message: string; details: unknown } }
      expect(refused.status, JSON.stringify(body)).toBe(409)
      expect(refused.headers.get('retry-after')).toBe('30')
      expect(body.error.message).toContain('older version of the gateway that cannot take image input items')
      expect(body.error.details).toMatchObject({ node: a.ctx.node.id, lacking: ['images'] })
      expect(
        (await json<Session & { turns: Turn[] }>(fetch(`${a.url}/v1/sessions/${session.id}`))).turns,
      ).toEqual([])
      expect(mock.requests).toHaveLength(0)
      // a turn of text alone still goes to it (session.turn, which every version answers)
      mock.script({ kind: 'text', text: 'plain' })
      plainTurn = await json<Turn>(
        postJson(`${b.url}/v1/sessions/${session.id}/turns?wait=true`, { input: 'words only' }),
      )
      expect(plainTurn).toMatchObject({ status: 'completed', finalResponse: 'plain' })
    } finally {
      serveSessionCalls(calls, () => a.ctx.sessions as ClusterSessions)
    }
    // a node of a version after this one names what the turn needs that this one does not know: refused alike,
    // by the owner itself (the caller's list comes as it is)
    const bCalls = (b.ctx.sessions as unknown as { cluster: SessionCluster }).cluster.calls
    const newer = bCalls.call(
      a.ctx.node.id,
      'session.turnWith',
      {
        tenant: null,
        id: session.id,
        input: images,
        onBusy: 'queue',
        options: {},
        needs: ['images', 'mentions'],
      },
      30_000,
    )
    await expect(newer).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('cannot take what it calls "mentions"'),
      details: { lacking: ['mentions'] },
    })
    // a caller that under-declares (a bug, or versions that disagree on what an item needs) is refused by the owner,
    // which derives the needs from the input itself: before, node A took the list on trust (a node lacking images
    // would have read them as text, and an item type it does not know was dropped: the turn ran on its text)
    const forwarded = (method: string, input: unknown[], needs?: string[]) =>
      bCalls.call(
        a.ctx.node.id,
        method,
        { tenant: null, id: session.id, input, onBusy: 'queue', options: {}, ...(needs ? { needs } : {}) },
        30_000,
      )
    await expect(forwarded('session.turnWith', images, ['options'])).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining(
        'by session.turnWith declaring only [options], but it has image input items',
      ),
      details: { node: a.ctx.node.id, declared: ['options'], undeclared: ['images'] },
    })
    await expect(forwarded('session.turn', images)).rejects.toMatchObject({
      code: 'conflict',
      details: { method: 'session.turn', declared: [], undeclared: ['images'] },
    })
    await expect(
      forwarded('session.turn', [images[0]!, { type: 'audio', path: 'a.wav' }]),
    ).rejects.toMatchObject({ code: 'conflict', details: { undeclared: ['input item type "audio"'] } })
    expect(mock.requests).toHaveLength(1)
    expect(await a.ctx.store.listTurns(session.id)).toEqual([plainTurn])
    // node A of this version takes them: both images reach the model, the file read where A runs the turn
    mock.script({ kind: 'text', text: 'two dots' })
    const turn = await json<Turn>(
      postJson(`${b.url}/v1/sessions/${session.id}/turns?wait=true`, { input: images }),
    )
    expect(turn).toMatchObject({ status: 'completed', finalResponse: 'two dots', input: images })
    const sent = JSON.stringify(mock.requests.at(-1)?.body)
    expect(sent.split(dataUrlOf(onePixelPng)).length - 1).toBe(2)
  }, 60_000)

  it('MAX_QUEUED_RUNS holds across nodes: the run beyond the bound gets 429 whichever node it reaches', async () => {
    const sleep = { agent: 'cli', command: { cli: 'sleep', args: ['30'] } }
    const admitted: string[] = []
    // one running + MAX_QUEUED_RUNS=2 queued, over both nodes
    for (let i = 0; i < 3; i++) {
      const res = await postJson(`${(i % 2 ? b : a).url}/v1/runs`, sleep)
      expect(res.status).toBe(202)
      admitted.push(((await res.json()) as { id: string }).id)
    }
    for (const node of [a, b]) {
      const res = await postJson(`${node.url}/v1/runs`, sleep)
      expect(res.status).toBe(429)
      expect(res.headers.get('retry-after')).toBe('5')
    }
    // cancelled through the other node than the one that admitted them: room again
    for (const [i, id] of admitted.entries())
      expect((await postJson(`${(i % 2 ? a : b).url}/v1/runs/${id}/cancel`, {})).status).toBe(200)
    const again = await postJson(`${b.url}/v1/runs`, sleep)
    expect(again.status).toBe(202)
    const { id } = (await again.json()) as { id: string }
    expect(await (await postJson(`${a.url}/v1/runs/${id}/cancel`, {})).json()).toMatchObject({
      status: 'cancelled',
    })
  }, 60_000)

  it('a turn the owner took and then left unanswered when it died is not sent again: 503 outcome_unknown, saying how to check', async () => {
    mock.reset()
    const session = await json<Session>(postJson(`${a.url}/v1/sessions`, {}))
    const aId = a.ctx.node.id
    // node A takes the forwarded turn (its message taken from node_signals), then never answers: as if it died
    // right after; node B then judges it dead (its look at the callee: here told so, the rest is real)
    const calls = (a.ctx.sessions as unknown as { cluster: SessionCluster }).cluster.calls
    let took!: () => void
    const taken = new Promise<void>((resolve) => {
      took = resolve
    })
    calls.handle('session.turn', () => {
      took()
      return new Promise(() => {})
    })
    const judge = b.ctx.node.isLiveConfirmed.bind(b.ctx.node)
    try {
      const sent = postJson(`${b.url}/v1/sessions/${session.id}/turns`, { input: 'once only' })
      await taken
      b.ctx.node.isLiveConfirmed = async (id) => id !== aId && judge(id)
      const res = await sent
      const body = (await res.json()) as { error: { code: string; message: string; details: unknown } }
      expect(res.status, JSON.stringify(body)).toBe(503)
      expect(body.error).toMatchObject({
        code: 'outcome_unknown',
        details: { node: aId, method: 'session.turn', sessionId: session.id },
      })
      expect(body.error.message).toContain(`GET /v1/sessions/${session.id}`)
      // not sent again: the session has no turn (A took the call but, as told, never acted on it)
      const read = await json<Session & { turns: Turn[] }>(fetch(`${b.url}/v1/sessions/${session.id}`))
      expect(read.turns).toEqual([])
    } finally {
      b.ctx.node.isLiveConfirmed = judge
      serveSessionCalls(calls, () => a.ctx.sessions as ClusterSessions)
    }
  }, 60_000)

  /**
   * A session node A held: one turn done, one A "was running when it died" (open in the store), its agent gone
   * (the thread's writer, as with its process). `from`: the session's last seq before node B touches it.
   */
  const leftOnA = async () => {
    mock.reset()
    mock.script({ kind: 'text', text: 'noted' })
    const session = await json<Session>(postJson(`${a.url}/v1/sessions`, {}))
    expect(
      await json<Turn>(
        postJson(`${a.url}/v1/sessions/${session.id}/turns?wait=true`, { input: 'remember owl' }),
      ),
    ).toMatchObject({ status: 'completed' })
    const lost: Turn = { ...queuedTurn(session.id, [{ type: 'text', text: 'lost' }]), status: 'running' }
    await a.ctx.store.createTurn(lost)
    const aLive = (a.ctx.tenancy.scope(null).sessions as unknown as { live: LiveSessions }).live
    const held = aLive.get(session.id)!
    aLive.unload(session.id, held)
    await held.closing
    return { session, lost, from: (await b.ctx.store.getSession(session.id))!.lastSeq }
  }

  /**
   * Node B takes node A's sessions over and, before it fails this one's turns (its approvals step, the hook),
   * `reopen` uses the session on B (its claim bumped: the takeover's own writes are then refused). Right after
   * `reopen`, before the takeover goes on, the lost turn must be failed already (by B's reopen, recoverClaimed):
   * the turn's status then. Also B's warning line and count for it.
   */
  const takenOverWhile = async (session: Session, lost: Turn, reopen: () => Promise<void>) => {
    const counted = b.ctx.fencing.leftoverTurnsFailed
    let lostThen: Turn | undefined
    const taken = await b.ctx.sessions.recover([a.ctx.node.id], async (s) => {
      if (s.id !== session.id) return
      await reopen()
      lostThen = (await b.ctx.store.listTurns(session.id)).find((t) => t.id === lost.id)
    })
    expect(taken.map((s) => s.id)).toContain(session.id)
    expect(lostThen).toMatchObject({ status: 'failed' })
    expect(b.ctx.fencing.leftoverTurnsFailed).toBe(counted + 1)
    const told = bLog
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.sessionId === session.id && Array.isArray(l.turnIds))
    expect(told).toEqual([
      expect.objectContaining({
        level: 40,
        turnIds: [lost.id],
        statuses: ['running'],
        node: b.ctx.node.id,
        reason: expect.stringContaining('left open'),
      }),
    ])
    expect(await b.ctx.store.ownerOf(session.id)).toBe(b.ctx.node.id)
  }

  /** The session's events since `from`, with the one turn.failed of the lost turn (its index). */
  const failedOnce = async (sessionId: string, lost: Turn, from: number) => {
    const events = await b.ctx.store.eventsAfter(sessionId, from, 1000)
    const failed = events.filter((e) => e.type === 'turn.failed' && e.turnId === lost.id)
    expect(failed).toHaveLength(1)
    expect((await b.ctx.store.listTurns(sessionId)).find((t) => t.id === lost.id)).toMatchObject({
      status: 'failed',
    })
    return { events, failedAt: events.indexOf(failed[0]!) }
  }

  it("a takeover overtaken by a turn that reopens the session elsewhere: the lost node's turn still fails (turn.failed), the new turn runs", async () => {
    // Once in the e2e cluster's kill -9 case: the node that took the dead worker's session over was still failing
    // its turns when a forwarded turn reopened the session on the survivor (its claim bumped): the takeover's writes
    // were refused (SessionTakenOver, left alone), and the dead node's turn stayed `running` with no turn.failed
    // until the survivor itself was taken over. Made to happen here: node B takes node A's sessions over, and
    // before it fails their turns (its approvals step, the hook) a turn reopens this one on B.
    const { session, lost, from } = await leftOnA()
    mock.script({ kind: 'text', text: 'owl' })
    let next: Turn | undefined
    await takenOverWhile(session, lost, async () => {
      next = await b.ctx.sessions.startTurn(session.id, [{ type: 'text', text: 'which bird?' }])
    })
    expect(await b.ctx.sessions.waitTurn(next!.id, 30_000)).toMatchObject({
      status: 'completed',
      finalResponse: 'owl',
    })
    const { events, failedAt } = await failedOnce(session.id, lost, from)
    // failed before the new turn started
    expect(failedAt).toBeLessThan(events.findIndex((e) => e.type === 'turn.started' && e.turnId === next!.id))
    // what an operator scrapes
    const scraped = parsePrometheus(await (await fetch(`${b.url}/metrics`)).text())
    expect(sample(scraped, 'agent_gateway_leftover_turns_failed_total')).toBe(
      b.ctx.fencing.leftoverTurnsFailed,
    )
  }, 60_000)

  it("a takeover overtaken by a fork that reopens the session elsewhere: the lost node's turn fails (turn.failed) before the fork is made", async () => {
    const { session, lost, from } = await leftOnA()
    let fork: Session | undefined
    await takenOverWhile(session, lost, async () => {
      fork = await b.ctx.sessions.fork(session.id)
    })
    expect(fork).toMatchObject({ forkedFrom: session.id })
    expect(await b.ctx.store.ownerOf(fork!.id)).toBe(b.ctx.node.id)
    await failedOnce(session.id, lost, from)
    expect((await b.ctx.store.getSession(session.id))!.status).toBe('idle')
  }, 60_000)

  it("a takeover overtaken by an archive that reopens the session elsewhere: the lost node's turn fails (turn.failed) before archived", async () => {
    const { session, lost, from } = await leftOnA()
    let archived: Session | undefined
    await takenOverWhile(session, lost, async () => {
      archived = await b.ctx.sessions.archive(session.id)
    })
    expect(archived).toMatchObject({ status: 'archived' })
    expect(archived!.agentArchiveError).toBeUndefined()
    const { events, failedAt } = await failedOnce(session.id, lost, from)
    // a session's stream ends at `archived`: the turn's end must come before it
    expect(failedAt).toBeLessThan(
      events.findIndex((e) => e.type === 'session.status' && e.status === 'archived'),
    )
  }, 60_000)

  it("a takeover overtaken by a thread read that reopens the session elsewhere: the lost node's turn fails (turn.failed), the read has the thread", async () => {
    const { session, lost, from } = await leftOnA()
    let read: unknown
    await takenOverWhile(session, lost, async () => {
      read = await b.ctx.sessions.read(session.id, true)
    })
    // the thread as the agent reopened on B has it: the turn A ran
    expect(JSON.stringify(read)).toContain('remember owl')
    await failedOnce(session.id, lost, from)
    // both turns ended (the lost one failed by B's reopen) and both count: the session's turns as a client lists
    // them, all ended (a fork's forkedAtTurn is taken from it); the lost one was not counted before
    const listed = await json<Session & { turns: Turn[] }>(fetch(`${a.url}/v1/sessions/${session.id}`))
    expect(listed.turns.map((t) => t.status)).toEqual(['completed', 'failed'])
    expect(listed).toMatchObject({ status: 'idle', turnCount: 2 })
  }, 60_000)

  it("a takeover overtaken by a resume that reopens the session elsewhere: the lost node's turn's approval is cancelled, then the turn fails (turn.failed); the resumed session is idle", async () => {
    const { session, lost, from } = await leftOnA()
    // the lost turn was waiting for an approval (stored as A's broker stores one, the session's state with it):
    // the node that reopens it settles it before the turn fails, as a takeover does (session-recovery.ts)
    const now = Date.now()
    const approvalId = `apr_left_${lost.id}`
    await a.ctx.store.createApproval(
      newApproval(approvalId, session.id, {
        turnId: lost.id,
        command: 'rm -rf build',
        cwd: null,
        options: ['accept', 'decline', 'cancel'],
        createdAt: new Date(now).toISOString(),
        expiresAt: new Date(now + 600_000).toISOString(),
      }),
    )
    await a.ctx.store.updateSession(session.id, { status: 'waiting_for_approval' })
    let resumed: Session | undefined
    await takenOverWhile(session, lost, async () => {
      resumed = await b.ctx.sessions.resume(session.id)
    })
    // the session as the resume answers it: its lost turn's end already counted in it
    expect(resumed).toMatchObject({ id: session.id, status: 'idle' })
    expect(b.ctx.sessions.isLoaded(session.id)).toBe(true)
    expect(await b.ctx.store.getApproval(approvalId)).toMatchObject({
      state: 'resolved',
      decision: 'cancel',
      by: 'server_restart',
    })
    const { events, failedAt } = await failedOnce(session.id, lost, from)
    const resolvedAt = events.findIndex((e) => e.type === 'approval.resolved')
    expect(resolvedAt).toBeGreaterThanOrEqual(0)
    expect(resolvedAt).toBeLessThan(failedAt)
    expect(await b.ctx.store.getSession(session.id)).toMatchObject({ status: 'idle' })
  }, 60_000)

  // last: node A is gone after it
  it('a thread read the owner took and then left unanswered when it died is done again where the session goes (a read: twice is no different)', async () => {
    mock.reset()
    mock.script({ kind: 'text', text: 'noted' })
    const session = await json<Session>(postJson(`${a.url}/v1/sessions`, {}))
    expect(
      await json<Turn>(
        postJson(`${a.url}/v1/sessions/${session.id}/turns?wait=true`, { input: 'remember me' }),
      ),
    ).toMatchObject({ status: 'completed' })
    const calls = (a.ctx.sessions as unknown as { cluster: SessionCluster }).cluster.calls
    let took!: () => void
    const taken = new Promise<void>((resolve) => {
      took = resolve
    })
    calls.handle('session.read', () => {
      took()
      return new Promise(() => {})
    })
    const read = postJson(`${b.url}/api/thread/read`, {
      threadId: session.agentSessionId,
      includeTurns: true,
    })
    await taken
    // node A "dies" with the read taken: its record removed, its liveness lock freed, no more heartbeats, its
    // agents ended (the thread's writer gone, as with its process)
    await a.ctx.node.leave()
    await Promise.all([a.ctx.sessions.closeAll(), a.ctx.tenancy.scope(null).sessions.closeAll()])
    const res = await read
    const text = await res.text()
    expect(res.status, text).toBe(200)
    expect(text).toContain('remember me')
    // node B took the session over and read it itself
    expect(await b.ctx.store.ownerOf(session.id)).toBe(b.ctx.node.id)
  }, 60_000)
})
