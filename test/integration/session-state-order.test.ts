import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EventLog } from '../../src/core/event-log.js'
import { SessionState } from '../../src/core/session-state.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Session } from '../../src/protocol/sessions.js'
import { InProcessEventBus } from '../../src/store/event-bus.js'
import { PostgresStore } from '../../src/store/postgres/postgres-store.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import type { Store } from '../../src/store/store.js'
import { newApproval, newSession, newTurn, nodeRecord } from '../contract/store-contract.js'
import { setStateAlone } from '../support/set-state.js'
import { sharedPostgres } from '../support/shared-postgres.js'
import { tempDir } from '../support/temp.js'

/**
 * Two state writes of one session in flight at once in one process (a turn starts while an approval is asked,
 * an approval is answered while the turn ends, a refresh while the session is archived, two refreshes): the
 * first one's answer comes late (PostgreSQL answers on a pool connection of its own, and connections answer
 * in any order), after the second one was stored. The announced `session.status` sequence must still end in
 * the state stored last, and nothing may follow `archived`. The late answer is forced: the first write is
 * committed, and its answer held until the second one was announced (or, when the second one waits for the
 * first, released at once). No sleeps.
 */
const pg = sharedPostgres()

const statuses = (events: StoredEvent[]) =>
  events.flatMap((ev) => (ev.type === 'session.status' ? [ev.status] : []))

type StateWrite = 'setSessionStateWithEvents' | 'updateTurnWithEvents' | 'completeTurnWithEvents'

/** The next `method` call is stored (committed), and its answer comes only once `release` is called. */
function holdNextAnswer(store: Store, method: StateWrite): { stored: Promise<void>; release: () => void } {
  const calls = store as unknown as Record<StateWrite, (...args: unknown[]) => Promise<unknown>>
  const real = calls[method]
  let release!: () => void
  const released = new Promise<void>((resolve) => {
    release = resolve
  })
  let committed!: () => void
  const stored = new Promise<void>((resolve) => {
    committed = resolve
  })
  calls[method] = async (...args) => {
    calls[method] = real
    const answer = await real.apply(store, args)
    committed()
    await released
    return answer
  }
  return { stored, release }
}

/**
 * Until the returned function is called, the database refuses to store events of these types (a trigger: the
 * insert fails as a full disk or a lost connection would, after the state's write in the same transaction).
 */
async function refuseEvents(store: Store, types: readonly string[]): Promise<() => Promise<void>> {
  const list = types.map((t) => `'${t}'`).join(', ')
  if (store instanceof PostgresStore) {
    await store.pool.query(
      `CREATE FUNCTION agw_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'event refused'; END $$`,
    )
    await store.pool.query(
      `CREATE TRIGGER agw_test_refuse BEFORE INSERT ON events FOR EACH ROW
       WHEN (NEW.type IN (${list})) EXECUTE FUNCTION agw_test_refuse()`,
    )
    return async () => {
      await store.pool.query('DROP TRIGGER agw_test_refuse ON events')
      await store.pool.query('DROP FUNCTION agw_test_refuse()')
    }
  }
  // another connection to the file: the store's own sees the schema change
  const db = new Database((store as SqliteStore).file)
  db.exec(
    `CREATE TRIGGER agw_test_refuse BEFORE INSERT ON events WHEN NEW.type IN (${list})
     BEGIN SELECT RAISE(ABORT, 'event refused'); END`,
  )
  return async () => {
    db.exec('DROP TRIGGER agw_test_refuse')
    db.close()
  }
}

interface Race {
  name: string
  /** Which store call writes the first state (its answer is the late one). */
  held: StateWrite
  /** The session before the race (created idle, with a turn `<id>_turn` queued). */
  before?: (store: Store, id: string) => Promise<void>
  first: (state: SessionState, id: string) => Promise<unknown>
  /** What changes once the first state is stored, before the second write starts. */
  between?: (store: Store, id: string) => Promise<void>
  second: (state: SessionState, id: string) => Promise<unknown>
  /** The state stored last. */
  stored: Session['status']
}

const stores = {
  sqlite: async () => new SqliteStore(path.join(tempDir('state-order-'), 'gw.db')),
  postgres: async () => PostgresStore.open(await pg.createDatabase()),
}

for (const [backend, open] of Object.entries(stores))
  describe(`SessionState: a state write answered late (${backend})`, () => {
    let store: Store
    let log: EventLog
    let state: SessionState
    /** Whether a turn of the session runs in this process (what SessionManager answers). */
    let running = false
    /** The store calls a state step makes (its read, its write), counted as they start. */
    let stateCalls = 0
    beforeAll(async () => {
      store = await open()
      log = new EventLog(store, new InProcessEventBus())
      state = new SessionState(store, log, () => running)
      const calls = store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>
      for (const method of [
        'sessionState',
        'setSessionStateWithEvents',
        'updateTurnWithEvents',
        'completeTurnWithEvents',
      ]) {
        const call = calls[method]!
        // on the store it is called on: a view of it in one transaction stays in that transaction
        calls[method] = function (this: Store, ...args) {
          stateCalls++
          return call.apply(this, args)
        }
      }
    })
    afterAll(async () => {
      await store?.close()
    })

    const answer = (id: string) =>
      store.resolveApproval(`${id}_apr`, {
        decision: 'accept',
        by: 'client',
        resolvedAt: new Date().toISOString(),
      })
    const at = () => new Date().toISOString()

    const races: Race[] = [
      {
        name: 'an approval asked, then answered (two refreshes)',
        held: 'setSessionStateWithEvents',
        before: async (s, id) => s.createApproval(newApproval(`${id}_apr`, id)),
        first: (st, id) => st.refresh(id),
        between: async (_store, id) => void (await answer(id)),
        second: (st, id) => st.refresh(id),
        stored: 'idle',
      },
      {
        name: 'a turn starts while its agent asks an approval',
        held: 'updateTurnWithEvents',
        first: async (st, id) => {
          running = true
          await st.startTurn(id, `${id}_turn`, { status: 'running', startedAt: at() })
        },
        between: async (s, id) => s.createApproval(newApproval(`${id}_apr`, id)),
        second: (st, id) => st.refresh(id),
        stored: 'waiting_for_approval',
      },
      {
        name: 'an approval answered while the turn ends',
        held: 'setSessionStateWithEvents',
        before: async (s, id) => {
          running = true
          await s.createApproval(newApproval(`${id}_apr`, id))
          await setStateAlone(s, id, { status: 'waiting_for_approval', at: at() })
          await answer(id)
        },
        first: (st, id) => st.refresh(id),
        second: async (st, id) => {
          await st.completeTurn(id, `${id}_turn`, { status: 'completed' }, at(), () => {
            running = false
          })
        },
        stored: 'idle',
      },
      {
        name: 'an approval asked while the session is archived',
        held: 'setSessionStateWithEvents',
        before: async (s, id) => s.createApproval(newApproval(`${id}_apr`, id)),
        first: (st, id) => st.refresh(id),
        second: (st, id) => st.set(id, 'archived'),
        stored: 'archived',
      },
      {
        name: 'a turn ends while the session is archived',
        held: 'completeTurnWithEvents',
        before: async (s, id) => {
          running = true
          await setStateAlone(s, id, { status: 'running', at: at() })
        },
        first: async (st, id) => {
          await st.completeTurn(id, `${id}_turn`, { status: 'completed' }, at(), () => {
            running = false
          })
        },
        second: (st, id) => st.set(id, 'archived'),
        stored: 'archived',
      },
    ]

    for (const [i, race] of races.entries())
      it(`${race.name}: the last state announced is the one stored`, async () => {
        const id = `ses_order${i}`
        running = false
        await store.registerNode(nodeRecord('node_a', new Date().toISOString()))
        await store.createSession(newSession(id), 'node_a')
        await store.createTurn(newTurn(`${id}_turn`, id))
        await race.before?.(store, id)
        const hold = holdNextAnswer(store, race.held)
        const first = race.first(state, id)
        await hold.stored
        await race.between?.(store, id)
        const callsBefore = stateCalls
        const second = race.second(state, id)
        // The second step asks the store at once unless it waits for the first: then the first's answer comes
        // after the second one was stored and announced. Otherwise it comes now.
        if (stateCalls > callsBefore) await second
        hold.release()
        await Promise.all([first, second])

        const stored = (await store.getSession(id))?.status
        expect(stored).toBe(race.stored)
        const announced = statuses(await store.eventsAfter(id, 0, 100))
        expect(announced.at(-1)).toBe(stored)
        const archived = announced.indexOf('archived')
        expect(archived < 0 ? [] : announced.slice(archived + 1)).toEqual([])
      })

    // A crash between a state and its event left the session archived without `archived` (its event stream, which
    // ends there, never ended), or a turn ended without its end event: each pair is one transaction now.
    it('a state or turn end whose event cannot be stored is not stored either; stored with it once it can', async () => {
      const id = 'ses_atomic'
      running = false
      await store.registerNode(nodeRecord('node_a', new Date().toISOString()))
      await store.createSession(newSession(id), 'node_a')
      await store.createTurn(newTurn(`${id}_turn`, id, { status: 'running' }))
      const allow = await refuseEvents(store, ['session.status', 'turn.completed'])
      try {
        await expect(state.set(id, 'archived')).rejects.toThrow(/event refused/)
        await expect(
          state.endTurn(id, `${id}_turn`, { status: 'interrupted', error: 'session archived' }),
        ).rejects.toThrow(/event refused/)
      } finally {
        await allow()
      }
      expect(await store.getSession(id)).toMatchObject({ status: 'idle', lastSeq: 0 })
      expect(await store.getTurn(`${id}_turn`)).toMatchObject({ status: 'running', finishedAt: null })
      expect(await store.eventsAfter(id, 0, 10)).toEqual([])
      await state.endTurn(id, `${id}_turn`, { status: 'interrupted', error: 'session archived' })
      await state.set(id, 'archived')
      expect(await store.getSession(id)).toMatchObject({ status: 'archived', lastSeq: 2 })
      expect(await store.getTurn(`${id}_turn`)).toMatchObject({ status: 'interrupted' })
      expect((await store.eventsAfter(id, 0, 10)).map((e) => [e.seq, e.type])).toEqual([
        [1, 'turn.completed'],
        [2, 'session.status'],
      ])
    })
  })
