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
import { postJson, startGateway, type TestGateway } from '../support/gateway.js'
import { sharedPostgres } from '../support/shared-postgres.js'
import { tempDir } from '../support/temp.js'

/**
 * An archive that lands between the read of a session's state and the write of the state computed from it (a
 * turn starts or ends, an approval changes the state): the store keeps `archived` and says it stored nothing,
 * so no `session.status` follows `archived` in the session's events. The archive is forced into that window by
 * running it inside the store call that opens or closes it (no sleep), on both stores. In one process a
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

    it('archived by another node after the turn read the state it leads to, before it stored it: nothing is announced after archived', async () => {
      const session = await json<Session>(postJson(`${gw.url}/v1/sessions`, {}))
      mock.script({ kind: 'text', text: 'done' })
      // runTurn reads the state the turn leads to (idle), then stores it with the turn's end: the archive lands
      // in between, right before that store step
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

for (const [backend, open] of Object.entries(stores))
  describe(`SessionState: an archive right after the state was read (${backend})`, () => {
    let store: Store
    let state: SessionState
    let log: EventLog
    let running = false
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
    })

    /** The next read of the session's state returns what it read, after another node archived the session. */
    function archiveAfterNextRead(id: string): void {
      const otherNode = new SessionState(store, log, () => false, new SerialByKey())
      const read = store.sessionState
      store.sessionState = async (...args) => {
        store.sessionState = read
        const stored = await read.apply(store, args)
        await otherNode.set(id, 'archived')
        return stored
      }
    }

    it('a turn starts: its running state is not stored nor announced after archived', async () => {
      await store.createSession(newSession('ses_start'), 'node_a')
      await store.createTurn(newTurn('turn_start', 'ses_start'))
      running = true
      archiveAfterNextRead('ses_start')
      await state.startTurn('ses_start', 'turn_start', { status: 'running' })
      expect(await store.getTurn('turn_start')).toMatchObject({ status: 'running' })
      expect((await store.getSession('ses_start'))?.status).toBe('archived')
      expect(statuses(await store.eventsAfter('ses_start', 0, 100))).toEqual(['archived'])
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
