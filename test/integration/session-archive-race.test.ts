import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { EventLog } from '../../src/core/event-log.js'
import { SessionState } from '../../src/core/session-state.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { InProcessEventBus } from '../../src/store/event-bus.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import type { Store } from '../../src/store/store.js'
import { SerialByKey } from '../../src/util/serial-by-key.js'
import { newApproval, newSession, newTurn, nodeRecord } from '../contract/store-contract.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayModules, postJson, startGateway, type TestGateway } from '../support/gateway.js'
import { sharedPostgres } from '../support/shared-postgres.js'
import { tempDir } from '../support/temp.js'

/**
 * An archive that lands between the read of a session's state and the write of the state computed from it (a
 * turn starts or ends, an approval changes the state): the store keeps `archived` and says it stored nothing,
 * so no `session.status` follows `archived` in the session's events. The archive is forced into that window by
 * running it inside the store call that opens or closes it (no sleep), on both stores: right after the read
 * inside a turn step's transaction (a turn's start and end read the state there), or after `sessionState` (a
 * refresh reads it before its write). In one process a
 * session's state steps run one at a time (session-state.ts; session-state-order.test.ts), so an archive of
 * this process waits for the step: what lands inside the window is another process's archive (a node that
 * took the session over while this one was taken for dead), a SessionState with a queue of its own here.
 */
const pg = sharedPostgres()

/** The session's `session.status` events, in order. */
const statuses = (events: StoredEvent[]) =>
  events.flatMap((ev) => (ev.type === 'session.status' ? [ev.status] : []))

/** The states announced after the first `archived` (none, when nothing follows it). */
const afterArchived = (events: StoredEvent[]) =>
  statuses(events).slice(statuses(events).indexOf('archived') + 1)

const backends = {
  sqlite: async () => ({}),
  postgres: async () => ({ DATABASE_URL: await pg.createDatabase() }),
}

gatewayModules()

for (const [backend, envOf] of Object.entries(backends))
  describe(`an archive racing a turn's end (${backend}, real codex)`, () => {
    let mock: MockLlm
    let gw: TestGateway
    beforeAll(async () => {
      mock = await startMockLlm()
      gw = await startGateway(mock, await envOf())
    }, 60_000)
    afterAll(async () => {
      await gw?.close()
      await mock?.close()
    })

    const json = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T

    it('archived by another node as the turn ends, right before its end is stored: nothing is announced after archived', async () => {
      const session = await json<Session>(postJson(`${gw.url}/v1/sessions`, {}))
      mock.script({ kind: 'text', text: 'done' })
      // the archive lands right before the turn's end is stored; that step reads the state the turn leads to
      // inside its own transaction, under the session's claim (PostgreSQL: its row locked first; SQLite: one
      // IMMEDIATE transaction), so it sees the archive. An archive between that read and the write is forced
      // below (SessionState, both stores, no claim held).
      const store = gw.ctx.store
      const otherNode = new SessionState(store, new EventLog(store), () => false, new SerialByKey())
      const completeTurn = store.completeTurnWithEvents
      let archived = false
      store.completeTurnWithEvents = async (...args) => {
        store.completeTurnWithEvents = completeTurn
        await otherNode.set(session.id, 'archived')
        archived = true
        return completeTurn.apply(store, args)
      }
      try {
        const turn = await json<Turn>(
          postJson(`${gw.url}/v1/sessions/${session.id}/turns?wait=true`, { input: 'hi' }),
        )
        expect(turn.status).toBe('completed')
      } finally {
        store.completeTurnWithEvents = completeTurn
      }
      expect(archived).toBe(true)
      // every turn settled: its announcements (if any) are stored
      await Promise.all(
        [gw.ctx.sessions, ...gw.ctx.tenancy.all().map((s) => s.sessions)].map((s) => s.idle()),
      )
      expect(await store.getSession(session.id)).toMatchObject({ status: 'archived', turnCount: 1 })
      const events = await store.eventsAfter(session.id, 0, 1000)
      expect(statuses(events)).toContain('archived')
      expect(afterArchived(events)).toEqual([])
    })
  })

const stores = {
  sqlite: async () => new SqliteStore(path.join(tempDir('archive-race-'), 'gw.db')),
  postgres: () => pg.openStore(),
}

/** The store's read of a session's state inside a turn step's transaction (both stores; private there). */
type StepRead = (...args: unknown[]) => unknown

/**
 * For the store's next in-step read of a session's state (a turn starts or ends: the state it goes to is computed
 * from a read inside the step's transaction, then written there), `archive` lands right after that read, before
 * the write. On PostgreSQL it is another connection's transaction, committed before the step writes (no claim is
 * held here, so the step has not locked the session's row yet). On SQLite the step is one synchronous IMMEDIATE
 * transaction that no other connection can write into, so the window is closed there; the archive is written on the
 * step's own connection, inside it, to prove the write still keeps `archived` (SQLite's setSessionState writes
 * before its first await, so `archive` has stored it by the time the read returns). Resolves `fired` with the
 * archive's promise; `restore` takes the wrapper off the store (whether or not it fired).
 */
function archiveAfterNextStepRead(store: Store, archive: () => Promise<void>) {
  const target = store as unknown as { fromStateRead: StepRead }
  const read = target.fromStateRead
  let fired: Promise<void> | undefined
  const restore = () => {
    if (Object.hasOwn(target, 'fromStateRead')) delete (target as Partial<typeof target>).fromStateRead
  }
  if (typeof read !== 'function')
    throw new Error('the store has no in-step read (fromStateRead) to land an archive after')
  target.fromStateRead = function (this: unknown, ...args: unknown[]) {
    restore()
    const result = read.apply(this, args)
    if (result instanceof Promise)
      return result.then(async (value) => {
        fired = archive()
        await fired
        return value
      })
    fired = archive()
    return result
  }
  return { restore, fired: () => fired }
}

for (const [backend, open] of Object.entries(stores))
  describe(`SessionState: an archive right after the state was read (${backend})`, () => {
    let store: Store
    let state: SessionState
    let log: EventLog
    let running = false
    const restores: (() => void)[] = []
    beforeAll(async () => {
      store = await open()
      await store.registerNode(nodeRecord('node_a'))
      log = new EventLog(store, new InProcessEventBus())
      state = new SessionState(store, log, () => running)
    })
    afterAll(async () => {
      await store?.close()
    })
    afterEach(() => {
      running = false
      // a wrapper that did not fire must not reach the next test
      for (const restore of restores.splice(0)) restore()
    })

    /** Another node (a queue and an event log of its own) that archives session `id`. */
    const archivedByOtherNode = (id: string) => {
      const otherNode = new SessionState(store, new EventLog(store), () => false, new SerialByKey())
      return () => otherNode.set(id, 'archived')
    }

    /** The next read of the session's state (`sessionState`) returns what it read, after another node archived the session. */
    function archiveAfterNextRead(id: string): void {
      const archive = archivedByOtherNode(id)
      const read = store.sessionState
      const restore = () => {
        store.sessionState = read
      }
      restores.push(restore)
      store.sessionState = async (...args) => {
        restore()
        const stored = await read.apply(store, args)
        await archive()
        return stored
      }
    }

    /** The next in-step read (a turn's start or end) is followed by another node's archive; returns when it fired. */
    function archiveInNextStep(id: string) {
      const injected = archiveAfterNextStepRead(store, archivedByOtherNode(id))
      restores.push(injected.restore)
      return injected.fired
    }

    it('a turn starts: its running state is not stored nor announced after archived', async () => {
      await store.createSession(newSession('ses_start'), 'node_a')
      await store.createTurn(newTurn('turn_start', 'ses_start'))
      running = true
      const fired = archiveInNextStep('ses_start')
      await state.startTurn('ses_start', 'turn_start', { status: 'running' })
      // the archive landed inside the start's step; its own announcement is stored once this resolves
      const archived = fired()
      expect(archived).toBeDefined()
      await archived
      expect(await store.getTurn('turn_start')).toMatchObject({ status: 'running' })
      expect((await store.getSession('ses_start'))?.status).toBe('archived')
      expect(statuses(await store.eventsAfter('ses_start', 0, 100))).toEqual(['archived'])
    })

    it('a turn that was not stored yet starts (stored with its start): the same', async () => {
      await store.createSession(newSession('ses_unstored'), 'node_a')
      running = true
      const fired = archiveInNextStep('ses_unstored')
      const turn = newTurn('turn_unstored', 'ses_unstored')
      await state.startTurn('ses_unstored', turn.id, { status: 'running' }, undefined, turn)
      const archived = fired()
      expect(archived).toBeDefined()
      await archived
      expect(await store.getTurn('turn_unstored')).toMatchObject({ status: 'running' })
      expect((await store.getSession('ses_unstored'))?.status).toBe('archived')
      expect(statuses(await store.eventsAfter('ses_unstored', 0, 100))).toEqual(['archived'])
    })

    it('a turn ends: its idle state is not stored nor announced after archived, and the turn is counted', async () => {
      await store.createSession(newSession('ses_end', { status: 'running' }), 'node_a')
      await store.createTurn(newTurn('turn_end', 'ses_end', { status: 'running' }))
      const fired = archiveInNextStep('ses_end')
      const at = new Date().toISOString()
      let ended = false
      const turn = await state.completeTurn('ses_end', 'turn_end', { status: 'completed' }, at, () => {
        ended = true
      })
      const archived = fired()
      expect(archived).toBeDefined()
      await archived
      expect(ended).toBe(true)
      expect(turn).toMatchObject({ status: 'completed' })
      expect(await store.getSession('ses_end')).toMatchObject({ status: 'archived', turnCount: 1 })
      expect(statuses(await store.eventsAfter('ses_end', 0, 100))).toEqual(['archived'])
    })

    it('an approval changes the state (refresh): not stored over archived, nor announced after it', async () => {
      await store.createSession(newSession('ses_refresh'), 'node_a')
      await store.createApproval(newApproval('apr_refresh', 'ses_refresh'))
      archiveAfterNextRead('ses_refresh')
      await state.refresh('ses_refresh')
      expect((await store.getSession('ses_refresh'))?.status).toBe('archived')
      expect(statuses(await store.eventsAfter('ses_refresh', 0, 100))).toEqual(['archived'])
    })
  })
