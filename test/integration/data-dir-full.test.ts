import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { rmSync, statSync, truncateSync, unlinkSync, watch, writeFileSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { endRetryMs } from '../../src/core/end-retry.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Run } from '../../src/protocol/runs.js'
import type { Session } from '../../src/protocol/sessions.js'
import { newWebhookDelivery } from '../contract/store-contract.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayModules, postJson, readNdjson, startGateway, type TestGateway } from '../support/gateway.js'
import { processesInGroup, processesUnder, spawnedFrom, waitUntilGone } from '../support/processes.js'
import { readSseUntil } from '../support/sse-client.js'
import {
  boundMs,
  hangingTurn,
  helloTurn,
  notStopped,
  readSession,
  stubbornSettings,
  within,
} from '../support/stubborn-agent.js'
import { removeDir, tempDir } from '../support/temp.js'

const root = process.getuid?.() === 0

/**
 * DATA_DIR on a disk that fills up (a tmpfs of its own; mounting one needs root, as CI runs): a run whose output
 * no longer fits fails saying why, its agent stopped; /health answers 503 while nothing more fits; once space is
 * back, without a restart, the run's end is recorded (its followers get it, no seq missing), /health is 200 and
 * runs work again. Before, the store's SQLITE_FULL on the run's end was an unhandled rejection that ended the
 * gateway, and /health said healthy on a full disk.
 */
describe.skipIf(!root)('DATA_DIR on a full disk (a tmpfs; needs root to mount)', () => {
  let mount: string
  let gw: TestGateway
  let mock: MockLlm

  gatewayModules()
  beforeAll(async () => {
    mount = tempDir('data-dir-full-')
    // 2 MB: the store's files take a few hundred KB at the start, the run below writes more than the rest
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mount])
    mock = await startMockLlm()
    gw = await startGateway(mock, {
      DATA_DIR: mount,
      CLI_LIST: 'sh',
      WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      ...stubbornSettings(),
    })
  })
  afterAll(async () => {
    await gw?.close()
    await mock?.close()
    if (mount) {
      try {
        execFileSync('umount', [mount])
      } finally {
        removeDir(mount)
      }
    }
  })

  /**
   * The store's WAL checkpointed and truncated (from a connection of the test's own), before the disk is filled: a
   * write SQLite can put in WAL space it already has (frames a checkpoint let it reuse) fits on a full disk, and a
   * test that needs a refusal found none when an earlier case had grown the WAL.
   */
  const emptyWal = () => {
    const db = new Database(path.join(mount, 'agent-gateway.db'))
    try {
      db.pragma('busy_timeout = 5000')
      expect(db.pragma('wal_checkpoint(TRUNCATE)')).toEqual([expect.objectContaining({ busy: 0 })])
    } finally {
      db.close()
    }
  }

  const health = async () => {
    const res = await fetch(`${gw.url}/health`)
    return {
      status: res.status,
      body: (await res.json()) as {
        status: string
        store: { dataDirWritable: boolean; storageFull: boolean }
      },
    }
  }

  /** The names of the probe files written in DATA_DIR while `action` ran (an inotify watch of it). */
  const probeFilesWhile = async (action: () => Promise<unknown>) => {
    const names = new Set<string>()
    const marker = `.watched-${randomBytes(4).toString('hex')}`
    let markerSeen = () => {}
    const seen = new Promise<void>((resolve) => {
      markerSeen = resolve
    })
    const watcher = watch(mount, (_, name) => {
      if (name === marker) markerSeen()
      else if (name?.includes('probe')) names.add(name)
    })
    try {
      await action()
      // inotify reports in order: once the marker written after the action is seen, all of it was
      writeFileSync(path.join(mount, marker), '')
      await seen
    } finally {
      watcher.close()
      rmSync(path.join(mount, marker), { force: true })
    }
    return [...names]
  }

  it('a run that fills it fails saying why; once space is back its end is recorded, without a restart', async () => {
    // one probe file per /health (DATA_DIR's, which is the store's disk): before, SQLite's storageFull wrote a
    // second of its own
    const probes = await probeFilesWhile(async () => expect((await health()).status).toBe(200))
    expect(probes).toEqual([expect.stringMatching(/^\.health-probe-\d+$/)])
    const endFailed = new Promise<void>((resolve) => {
      const notices = gw.ctx.storeNotices
      const told = notices.endFailed.bind(notices)
      notices.endFailed = (...args) => {
        told(...args)
        resolve()
      }
    })
    // about 3.7 MB of output, then the agent would wait: the store's refusal must stop it
    const res = await postJson(`${gw.url}/v1/runs`, {
      agent: 'cli',
      command: {
        cli: 'sh',
        args: ['-c', 'yes 0123456789abcdefghijklmnopqrstuvwxyz | head -n 100000; exec sleep 60'],
      },
    })
    expect(res.status).toBe(202)
    const { id } = (await res.json()) as Run
    // its events refused, the run's end may still fit in what the store's files hold, or fail and be retried
    await Promise.race([endFailed, gw.ctx.runs.wait(id)])
    // the store's disk full, said as PostgreSQL's is (storageFull), as well as DATA_DIR refusing a write
    expect(await health()).toMatchObject({
      status: 503,
      body: { status: 'unhealthy', store: { ready: true, dataDirWritable: false, storageFull: true } },
    })
    // space back, as an operator gives it (a bigger volume, files removed); the next /health finds room, and the
    // run's end is tried again at once (not at its next attempt, up to 10 s later)
    execFileSync('mount', ['-o', 'remount,size=16m', mount])
    expect((await health()).status).toBe(200)

    const events = (await readNdjson(
      await fetch(`${gw.url}/v1/runs/${id}/events`, { headers: { accept: 'application/x-ndjson' } }),
    )) as unknown as StoredEvent[]
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
    expect(events.at(-1)).toMatchObject({
      type: 'run.completed',
      status: 'failed',
      error: expect.stringContaining('storing its events failed: database or disk is full'),
    })
    expect(await (await fetch(`${gw.url}/v1/runs/${id}`)).json()).toMatchObject({ status: 'failed' })
    // its agent (the `sleep` it went on with) was stopped
    expect(await waitUntilGone(() => processesUnder(gw.workspace), 5000)).toEqual([])
    expect(await health()).toMatchObject({
      status: 200,
      body: { status: 'healthy', store: { dataDirWritable: true, storageFull: false } },
    })
    const next = await postJson(`${gw.url}/v1/runs?wait=true`, {
      agent: 'cli',
      command: { cli: 'sh', args: ['-c', 'echo fine'] },
    })
    expect(await next.json()).toMatchObject({ status: 'succeeded', exitCode: 0 })
  })
  const sessions = async () =>
    ((await (await fetch(`${gw.url}/v1/sessions`)).json()) as { sessions: Session[] }).sessions

  /**
   * The disk full to the last byte (dd ends at ENOSPC), then given back a page (4 KB) at a time, each followed by
   * `attempt`: the first that fits finds room for part of its writes at most. Each refusal is 503 storage_full
   * and `leftNothing` checks that it left nothing; the session the first that fits created, and the refusals.
   */
  async function pageByPage(
    attempt: () => Promise<Response>,
    leftNothing: () => Promise<void>,
  ): Promise<{ created: Session; refusals: number }> {
    const filler = path.join(mount, 'filler')
    emptyWal()
    spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'])
    let size = statSync(filler).size
    let refusals = 0
    for (;;) {
      const res = await attempt()
      const body = (await res.json()) as Session & { error?: { code: string } }
      if (res.status === 201) {
        unlinkSync(filler)
        return { created: body, refusals }
      }
      expect({ status: res.status, body }).toMatchObject({
        status: 503,
        body: { error: { code: 'storage_full' } },
      })
      refusals++
      await leftNothing()
      expect(size).toBeGreaterThan(0)
      size = Math.max(0, size - 4096)
      truncateSync(filler, size)
    }
  }

  it('a session whose creation it refuses is 503 storage_full and left nowhere: not listed, its agent closed', async () => {
    expect(await sessions()).toEqual([])
    // before, the first creation that fits stored the session's row, alone, and not its first event: a session
    // stored, listed, its agent left open, answered 503
    const { created, refusals } = await pageByPage(
      () => postJson(`${gw.url}/v1/sessions`, { agent: 'acp:stubborn' }),
      async () => {
        // nothing of it stored, and its agent (opened before the store refused the session) closed
        expect(await sessions()).toEqual([])
        expect(await waitUntilGone(() => processesUnder(gw.workspace), 5000)).toEqual([])
      },
    )
    expect(refusals).toBeGreaterThan(0)
    expect((await sessions()).map((s) => s.id)).toEqual([created.id])
  })

  it('a session with a webhook and limits is one write: refused, nothing of it is left', async () => {
    const before = (await sessions()).map((s) => s.id)
    const webhook = { url: 'http://127.0.0.1:9/hook', events: ['turn.completed'] }
    const limits = { maxTurns: 3, maxTokens: 1000 }
    // before, its webhook and limits were a second write after the session's: the first creation that fitted the
    // first write was refused the second, and left the session listed without them (answered 503)
    const { created, refusals } = await pageByPage(
      () => postJson(`${gw.url}/v1/sessions`, { agent: 'acp:stubborn', webhook, limits }),
      async () => {
        expect((await sessions()).map((s) => s.id)).toEqual(before)
        expect(await waitUntilGone(() => processesUnder(gw.workspace), 5000)).toEqual([])
      },
    )
    expect(refusals).toBeGreaterThan(0)
    expect(created).toMatchObject({ webhook, limits })
    expect((await sessions()).map((s) => s.id).sort()).toEqual([...before, created.id].sort())
    expect(await readSession(gw.url, created.id)).toMatchObject({ webhook, limits })
  })

  it('a fork it refuses is 503 storage_full: no session left, the parent untouched', async () => {
    // a codex session (ACP agents cannot fork) with a turn: a thread to fork
    const parentRes = await postJson(`${gw.url}/v1/sessions`, { agent: 'codex' })
    const parent = (await parentRes.json()) as Session
    expect(parentRes.status, JSON.stringify(parent)).toBe(201)
    mock.script({ kind: 'text', text: 'parent answer' })
    const turnRes = await postJson(`${gw.url}/v1/sessions/${parent.id}/turns?wait=true`, { input: 'hi' })
    expect(await turnRes.json()).toMatchObject({ status: 'completed' })
    const listed = (await sessions()).map((s) => s.id).sort()
    const parentBefore = await readSession(gw.url, parent.id)
    // its stored events (the stream of a session follows on: read from the store)
    const events = () => gw.ctx.store.eventsAfter(parent.id, 0, 1000)
    const eventsBefore = await events()
    const processes = () =>
      spawnedFrom()
        .map((p) => p.pid)
        .sort()
    const running = processes()
    const { created, refusals } = await pageByPage(
      () => postJson(`${gw.url}/v1/sessions/${parent.id}/fork`, {}),
      async () => {
        // no fork stored; the parent as it was (its record, its events), no process started for the fork
        expect((await sessions()).map((s) => s.id).sort()).toEqual(listed)
        expect(await readSession(gw.url, parent.id)).toEqual(parentBefore)
        expect(await events()).toEqual(eventsBefore)
        expect(processes()).toEqual(running)
      },
    )
    expect(refusals).toBeGreaterThan(0)
    expect(created).toMatchObject({
      forkedFrom: parent.id,
      forkedAtTurn: 1,
      forkedAtSeq: parentBefore.lastSeq,
    })
    expect((await sessions()).map((s) => s.id).sort()).toEqual([...listed, created.id].sort())
    expect(await readSession(gw.url, parent.id)).toEqual(parentBefore)
  })

  /** The disk full to the last byte (dd ends at ENOSPC); `free` gives it all back. */
  const fillDisk = () => {
    const filler = path.join(mount, 'filler')
    emptyWal()
    spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'])
    return { free: () => rmSync(filler, { force: true }) }
  }
  /**
   * Resolves once the store refused the end of `turnId` (an attempt that end-retry.ts tries again), with
   * `retryInMs` the first after which the next attempt waits that long.
   */
  const endRefused = (turnId: string, retryInMs?: number) =>
    new Promise<void>((resolve) => {
      const notices = gw.ctx.storeNotices
      const told = notices.endFailed.bind(notices)
      notices.endFailed = (what, ids, err, retryIn) => {
        told(what, ids, err, retryIn)
        if (ids.turnId !== turnId || (retryInMs !== undefined && retryIn !== retryInMs)) return
        notices.endFailed = told
        resolve()
      }
    })
  /** The session's events from its start until the `session.status` that follows the end of `turnId`. */
  const eventsUntilEndOf = async (sessionId: string, turnId: string) => {
    let ended = false
    const frames = await readSseUntil(
      await fetch(`${gw.url}/v1/sessions/${sessionId}/events`, { headers: { accept: 'text/event-stream' } }),
      (f) => {
        const ev = JSON.parse(f.data) as StoredEvent
        if ((ev.type === 'turn.completed' || ev.type === 'turn.failed') && ev.turnId === turnId) ended = true
        return ended && ev.type === 'session.status'
      },
    )
    return frames.map((f) => JSON.parse(f.data) as StoredEvent)
  }

  it("a single-statement write it refuses marks the disk full too: space back, the store's listeners are told", async () => {
    let told = 0
    gw.ctx.store.onSpaceBack(() => told++)
    const filler = path.join(mount, 'filler')
    emptyWal()
    spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'])
    onTestFinished(() => rmSync(filler, { force: true }))
    // a webhook delivery is one statement, outside the store's transactions (before, its refusal went unnoted)
    const delivery = newWebhookDelivery(
      'msg_full',
      new Date().toISOString(),
      JSON.stringify({ type: 'run.completed', pad: 'x'.repeat(256 * 1024) }),
    )
    await expect(gw.ctx.store.enqueueWebhook(delivery)).rejects.toMatchObject({ code: 'SQLITE_FULL' })
    unlinkSync(filler)
    expect(await gw.ctx.store.storageFull()).toBe(false)
    expect(told).toBe(1)
  })

  it('a turn ended by force whose end it refuses is recorded once space is back: interrupted, once, its agent stopped at once', async () => {
    // the sessions before it archived: its agent process is its own (one shared ends with its last session)
    const before = (await (await fetch(`${gw.url}/v1/sessions`)).json()) as { sessions: Session[] }
    for (const s of before.sessions)
      expect((await postJson(`${gw.url}/v1/sessions/${s.id}/archive`, {})).status).toBe(200)
    const { session, turn, agentPid } = await hangingTurn(gw)
    const stream = eventsUntilEndOf(session.id, turn.id)
    const disk = fillDisk()
    onTestFinished(() => disk.free())
    const refused = endRefused(turn.id)
    // the agent ignores the interrupt: the gateway ends the turn boundMs later, and the store refuses that end
    const interrupted = postJson(`${gw.url}/v1/sessions/${session.id}/interrupt`, {})
    expect(await within(refused, boundMs + 10_000, 'the forced end')).toBeUndefined()
    const longestWait = endRetryMs.at(-1)!
    const waitingLongest = endRefused(turn.id, longestWait)
    // its agent let go at the first refusal (its processes end), the turn still running, the session busy with it
    expect(await waitUntilGone(() => processesInGroup(agentPid), 5000)).toEqual([])
    expect(await readSession(gw.url, session.id)).toMatchObject({
      status: 'running',
      turns: [{ id: turn.id, status: 'running' }],
    })
    // refused until its next attempt is the longest wait away (10 s)
    expect(await within(waitingLongest, 10_000, 'the refusal before the longest wait')).toBeUndefined()
    // space back: the end is stored (before: never, the turn `running` for good), its waiter and followers get it;
    // at once when the next /health finds room (before: at the next attempt, up to 10 s later, the session busy)
    disk.free()
    expect((await health()).status).toBe(200)
    const answer = await within(interrupted, longestWait / 2, 'the interrupt, right after /health')
    expect(answer).toBeInstanceOf(Response)
    expect(await (answer as Response).json()).toMatchObject({
      id: turn.id,
      status: 'interrupted',
      error: expect.stringMatching(notStopped('the interrupt')),
    })
    const events = (await within(stream, 20_000, 'the event stream')) as StoredEvent[]
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
    const ends = events.filter((e) => e.type === 'turn.completed' || e.type === 'turn.failed')
    expect(ends).toEqual([
      expect.objectContaining({ type: 'turn.completed', turnId: turn.id, status: 'interrupted' }),
    ])
    expect(events.at(-1)).toMatchObject({ type: 'session.status', status: 'idle' })
    expect(await readSession(gw.url, session.id)).toMatchObject({
      status: 'idle',
      turns: [{ id: turn.id, status: 'interrupted' }],
    })
    // the session works again, its agent reopened
    expect(await helloTurn(gw, session.id)).toMatchObject({ status: 'completed', finalResponse: 'done' })
  }, 60_000)

  it("a turn whose agent dies while it refuses the turn's end is recorded once space is back: failed, once", async () => {
    const { session, turn, agentPid } = await hangingTurn(gw)
    const stream = eventsUntilEndOf(session.id, turn.id)
    const disk = fillDisk()
    onTestFinished(() => disk.free())
    const refused = endRefused(turn.id)
    process.kill(-agentPid, 'SIGKILL')
    // its end refused and tried again (the end may also fit in what the store's files hold: stored at once)
    const first = await within(
      Promise.race([refused.then(() => 'refused'), stream.then(() => 'stored')]),
      10_000,
      'the end',
    )
    if (first === 'refused')
      expect((await readSession(gw.url, session.id)).turns).toMatchObject([
        { id: turn.id, status: 'running' },
      ])
    else expect(first).toBe('stored')
    disk.free()
    const events = (await within(stream, 20_000, 'the event stream')) as StoredEvent[]
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
    const ends = events.filter((e) => e.type === 'turn.completed' || e.type === 'turn.failed')
    expect(ends).toEqual([expect.objectContaining({ type: 'turn.failed', turnId: turn.id })])
    expect(await readSession(gw.url, session.id)).toMatchObject({
      status: 'idle',
      turns: [{ id: turn.id, status: 'failed' }],
    })
  }, 60_000)
})
