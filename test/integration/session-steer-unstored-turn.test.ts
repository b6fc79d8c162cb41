import pg from 'pg'
import { describe, expect, it } from 'vitest'
import type { AgentSession, TurnInput } from '../../src/agents/session.js'
import { AppError } from '../../src/protocol/errors.js'
import type { Turn } from '../../src/protocol/sessions.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import type { Store } from '../../src/store/store.js'
import { cleanUpFakeAgentSessions, sessionsOnFakeAgent } from '../support/fake-agent-sessions.js'
import { sharedPostgres } from '../support/shared-postgres.js'

/**
 * A turn that starts at once goes to its agent before its row is stored (SessionManager.startTurn); a steer that
 * reaches the agent in between used to answer with that turn at once, before it was stored: a client reading the
 * turn then (GET on any node, or `?wait=true` on a node that does not own the session, which reads the store) got
 * 404 `no turn …`. Found by the lifecycle stress on two nodes sharing PostgreSQL, where the row's commit takes a
 * while. The row's store is held here by a lock on the turns table that lets reads through.
 */

/** A session agent whose turn starts and then waits for `finish()`; a steer is accepted at once. */
function heldAgent() {
  let started!: () => void
  let steered!: () => void
  let finish!: () => void
  const turnStarted = new Promise<void>((r) => (started = r))
  const steerCalled = new Promise<void>((r) => (steered = r))
  const finished = new Promise<void>((r) => (finish = r))
  const agent = {
    async *turn(_input: TurnInput, signal: AbortSignal) {
      started()
      await Promise.race([finished, new Promise((r) => signal.addEventListener('abort', r, { once: true }))])
      yield { type: 'turn.started', turnId: 'agent-turn-1' }
      yield { type: 'item.completed', item: { id: 'm1', type: 'agent_message', text: 'ok' } }
      yield { type: 'turn.completed', turnId: 'agent-turn-1', status: 'completed', usage: null }
    },
    // accepted at once; the gateway records the steer (`sending`) before the input would go on
    async steer(_input: TurnInput, sending?: () => Promise<void>) {
      steered()
      await sending?.()
    },
    close: async () => {},
  } as unknown as AgentSession
  return { agent, turnStarted, steerCalled, finish }
}

const input = (text: string): TurnInput => [{ type: 'text', text }]

/**
 * A session agent whose first turn runs until `finish()` (or its abort), each turn `n` answering `answer n`; its
 * steer is `steer`, given the first turn's `finish`, its `finished` (finish called) and `ended` (after its
 * `turn.completed`).
 */
function agentHoldingItsFirstTurn(
  steer: (first: {
    finish: () => void
    finished: Promise<void>
    ended: Promise<void>
  }) => (input: TurnInput, sending?: () => Promise<void>) => Promise<unknown>,
) {
  let finish!: () => void
  const finished = new Promise<void>((r) => (finish = r))
  let ended!: () => void
  const firstEnded = new Promise<void>((r) => (ended = r))
  let started!: () => void
  const turnStarted = new Promise<void>((r) => (started = r))
  let turns = 0
  const agent = {
    async *turn(_input: TurnInput, signal: AbortSignal) {
      const n = ++turns
      yield { type: 'turn.started', turnId: `agent-turn-${n}` }
      if (n === 1) {
        started()
        await Promise.race([
          finished,
          new Promise((r) => signal.addEventListener('abort', r, { once: true })),
        ])
      }
      yield { type: 'item.completed', item: { id: `m${n}`, type: 'agent_message', text: `answer ${n}` } }
      yield { type: 'turn.completed', turnId: `agent-turn-${n}`, status: 'completed', usage: null }
      if (n === 1) ended()
    },
    steer: steer({ finish: () => finish(), finished, ended: firstEnded }),
    close: async () => finish(),
  } as unknown as AgentSession
  return { agent, turnStarted, finish: () => finish() }
}

/**
 * A session agent whose first turn runs until a steer comes; that steer is recorded (`sending`), then the turn ends
 * before the input gets to it, and once the agent ended that turn it refuses the steer as codex does then ("no
 * active turn": 409).
 */
const agentEndingBeforeItsSteer = () =>
  agentHoldingItsFirstTurn(({ finish, ended }) => async (_input, sending) => {
    await sending?.()
    // on its way to the agent, whose turn ends first
    finish()
    await ended
    throw new AppError('conflict', 'no turn is running in this session')
  })

/**
 * A session agent whose first turn runs until `finish()`; its first steer is recorded (`sending`) and then fails
 * on its way, as codex's does when its app-server dies or the request times out; the next one goes through.
 */
function agentFailingItsFirstSteer() {
  let finish!: () => void
  const finished = new Promise<void>((r) => (finish = r))
  let started!: () => void
  const turnStarted = new Promise<void>((r) => (started = r))
  let steers = 0
  const agent = {
    async *turn(_input: TurnInput, signal: AbortSignal) {
      yield { type: 'turn.started', turnId: 'agent-turn-1' }
      started()
      await Promise.race([finished, new Promise((r) => signal.addEventListener('abort', r, { once: true }))])
      yield { type: 'item.completed', item: { id: 'm1', type: 'agent_message', text: 'answer 1' } }
      yield { type: 'turn.completed', turnId: 'agent-turn-1', status: 'completed', usage: null }
    },
    async steer(_input: TurnInput, sending?: () => Promise<void>) {
      await sending?.()
      if (++steers === 1) throw new Error('codex app-server closed the connection')
    },
    close: async () => finish(),
  } as unknown as AgentSession
  return { agent, turnStarted, finish }
}

/**
 * The input `one` ran as turn `first`; `also this`, steered into it and recorded, became turn `next` instead: in
 * the history once, as `next`'s input. The log keeps the steer and says it was refused, naming the turn its input
 * became, before the end of the turn it was recorded into: whoever reads that end finds the steer settled.
 */
async function expectSteerBecameTurn(store: Store, first: Turn, next: Turn) {
  const turns = await store.listTurns('ses_a')
  expect(turns.map((t) => [t.id, t.input, t.steered])).toEqual([
    [first.id, input('one'), undefined],
    [next.id, input('also this'), undefined],
  ])
  const events = (await store.eventsAfter('ses_a', 0, 100)).filter((ev) => ev.type.startsWith('turn.'))
  expect(events.map((ev) => ev.type)).toEqual([
    'turn.started',
    'turn.steered',
    'turn.steer_refused',
    'turn.completed',
    'turn.started',
    'turn.completed',
  ])
  expect(events[1]).toMatchObject({ turnId: first.id, input: input('also this') })
  expect(events[2]).toMatchObject({ turnId: first.id, steeredSeq: events[1]!.seq, queuedTurnId: next.id })
}

/**
 * A steer recorded before it went to the agent, whose sending then failed otherwise (codex's app-server died, the
 * request timed out): it stayed in the turn's `steered` and as its `turn.steered`, while the client got a 500; a
 * client that sent it again had the input twice in the history, once of it never given to the agent. Now it is
 * withdrawn (`turn.steer_failed`) and the client told so.
 */
function failedSteerTests(
  source: () => Promise<{ makeStore: (file: string) => SqliteStore } | { store: Store }>,
) {
  it('is withdrawn from the turn: the client is told, and the input sent again is in the history once', async () => {
    const { agent, turnStarted, finish } = agentFailingItsFirstSteer()
    const { store, sessions } = await sessionsOnFakeAgent({
      dirPrefix: 'steer-failed-',
      ...(await source()),
      open: () => agent,
      resume: () => agent,
    })
    try {
      const first = await sessions.startTurn('ses_a', input('one'))
      await turnStarted
      const failed = await sessions.startTurn('ses_a', input('also this'), 'steer').catch((e: unknown) => e)
      expect(failed).toMatchObject({ code: 'agent_failed', status: 500, details: { turnId: first.id } })
      expect((failed as Error).message).toMatch(
        /^the steer did not reach the agent: codex app-server closed the connection; it was withdrawn/,
      )
      expect((await store.getTurn(first.id))?.steered).toBeUndefined()
      // the client sends it again: it goes through this time
      expect((await sessions.startTurn('ses_a', input('also this'), 'steer')).id).toBe(first.id)
      finish()
      expect(await sessions.waitTurn(first.id)).toMatchObject({
        status: 'completed',
        steered: [input('also this')],
      })
      await sessions.idle()
      const events = (await store.eventsAfter('ses_a', 0, 100)).filter((ev) => ev.type.startsWith('turn.'))
      expect(events.map((ev) => ev.type)).toEqual([
        'turn.started',
        'turn.steered',
        'turn.steer_failed',
        'turn.steered',
        'turn.completed',
      ])
      expect(events[2]).toMatchObject({
        turnId: first.id,
        steeredSeq: events[1]!.seq,
        error: 'codex app-server closed the connection',
      })
    } finally {
      finish()
      await sessions.closeAll()
    }
  })
}

/**
 * A steer recorded before it went to the agent, which then refused it because its turn had ended meanwhile (codex
 * answers "no active turn"; found as a race at a turn's end by the lifecycle stress): its input became the next
 * turn, and stayed in the ended turn's `steered` and as its `turn.steered` too: twice in the history. Now the new
 * turn is stored with the steer's withdrawal (`turn.steer_refused`): the input is there once, as that turn's.
 */
function refusedSteerTests(
  source: () => Promise<{ makeStore: (file: string) => SqliteStore } | { store: Store }>,
) {
  it('is withdrawn from the ended turn as its input becomes the next turn: in the history once', async () => {
    const { agent, turnStarted } = agentEndingBeforeItsSteer()
    const { store, sessions } = await sessionsOnFakeAgent({
      dirPrefix: 'steer-refused-',
      ...(await source()),
      open: () => agent,
      resume: () => agent,
    })
    try {
      const first = await sessions.startTurn('ses_a', input('one'))
      await turnStarted
      const answered = await sessions.startTurn('ses_a', input('also this'), 'steer')
      // not steered into the ended turn: a new turn with the input
      expect(answered.id).not.toBe(first.id)
      expect(answered.input).toEqual(input('also this'))
      expect(await sessions.waitTurn(answered.id)).toMatchObject({
        status: 'completed',
        finalResponse: 'answer 2',
      })
      await sessions.idle()
      await expectSteerBecameTurn(store, first, answered)
    } finally {
      await sessions.closeAll()
    }
  })
}

/**
 * A session agent whose first turn runs until `finish()`; it accepts a steer and then ends that turn without taking
 * it (its SteerReceipt's `taken` false), as codex does when its turn ends before its next model request.
 */
const agentLeavingItsSteer = () =>
  agentHoldingItsFirstTurn(({ finished }) => async (_input, sending) => {
    await sending?.()
    return { taken: finished.then(() => false) }
  })

describe('onBusy: steer the agent accepted and ended its turn without (SQLite)', () => {
  cleanUpFakeAgentSessions()

  it('becomes the next turn, before those queued after it: in the history once, never claimed by the ended turn', async () => {
    const { agent, turnStarted, finish } = agentLeavingItsSteer()
    const { store, sessions } = await sessionsOnFakeAgent({
      dirPrefix: 'steer-left-',
      makeStore: (file) => new SqliteStore(file),
      open: () => agent,
      resume: () => agent,
    })
    try {
      const first = await sessions.startTurn('ses_a', input('one'))
      await turnStarted
      // answered as steered: the agent accepted it
      expect((await sessions.startTurn('ses_a', input('also this'), 'steer')).id).toBe(first.id)
      const later = await sessions.startTurn('ses_a', input('later'))
      finish()
      // before: the ended turn claimed the input (`steered`), which no turn of the agent ever had
      const ended = await sessions.waitTurn(first.id)
      expect([ended.status, ended.steered]).toEqual(['completed', undefined])
      await sessions.waitTurn(later.id)
      await sessions.idle()
      // created after `later` (listed in creation order), it ran before it
      const turns = await store.listTurns('ses_a')
      expect(turns.map((t) => [t.input, t.steered, t.status])).toEqual([
        [input('one'), undefined, 'completed'],
        [input('later'), undefined, 'completed'],
        [input('also this'), undefined, 'completed'],
      ])
      const steerTurn = turns[2]!.id
      const events = (await store.eventsAfter('ses_a', 0, 100)).filter((ev) => ev.type.startsWith('turn.'))
      expect(events.map((ev) => ev.type).slice(0, 4)).toEqual([
        'turn.started',
        'turn.steered',
        'turn.steer_refused',
        'turn.completed',
      ])
      expect(events[2]).toMatchObject({
        turnId: first.id,
        steeredSeq: events[1]!.seq,
        queuedTurnId: steerTurn,
      })
      const starts = events.filter((ev) => ev.type === 'turn.started').map((ev) => ev.turnId)
      expect(starts).toEqual([first.id, steerTurn, later.id])
    } finally {
      finish()
      await sessions.closeAll()
    }
  })
})

/**
 * A session agent whose first turn runs until a steer comes; that steer is recorded (`sending`), the turn ends, and
 * the agent accepts the steer (says it took it, even) only once `answer()` is called.
 */
function agentAnsweringItsSteerLate() {
  let answer!: () => void
  const answered = new Promise<void>((r) => (answer = r))
  const held = agentHoldingItsFirstTurn(({ finish }) => async (_input, sending) => {
    await sending?.()
    finish()
    await answered
    return { taken: Promise.resolve(true) }
  })
  const close = held.agent.close.bind(held.agent)
  held.agent.close = async () => {
    answer()
    await close()
  }
  return { ...held, answer }
}

describe('onBusy: steer whose agent answers after its turn ended, past the bound (SQLite)', () => {
  cleanUpFakeAgentSessions()

  it("is settled before the turn's end is stored: it became the next turn, and its late acceptance changes nothing", async () => {
    const { agent, turnStarted, answer } = agentAnsweringItsSteerLate()
    const { store, sessions } = await sessionsOnFakeAgent({
      dirPrefix: 'steer-late-',
      makeStore: (file) => new SqliteStore(file),
      open: () => agent,
      resume: () => agent,
      // the turn's end waits 100 ms for the answer of a steer on its way
      settings: { KILL_GRACE_MS: '0', FORCE_END_AFTER_MS: '100' },
    })
    try {
      const first = await sessions.startTurn('ses_a', input('one'))
      await turnStarted
      const steered = sessions.startTurn('ses_a', input('also this'), 'steer')
      // before: the turn's end was stored with the steer in it, the client (answered once the agent accepted it)
      // was told the input went into that turn, and a taken steer stayed there though the turn ended without it
      const ended = await sessions.waitTurn(first.id)
      expect([ended.status, ended.steered]).toEqual(['completed', undefined])
      answer()
      const next = await steered
      expect(next.id).not.toBe(first.id)
      expect(next.input).toEqual(input('also this'))
      expect(await sessions.waitTurn(next.id)).toMatchObject({
        status: 'completed',
        finalResponse: 'answer 2',
      })
      await sessions.idle()
      await expectSteerBecameTurn(store, first, next)
    } finally {
      answer()
      await sessions.closeAll()
    }
  })
})

describe('onBusy: steer refused by the agent after it was recorded (SQLite)', () => {
  cleanUpFakeAgentSessions()
  refusedSteerTests(async () => ({ makeStore: (file) => new SqliteStore(file) }))
})

describe('onBusy: steer whose sending failed after it was recorded (SQLite)', () => {
  cleanUpFakeAgentSessions()
  failedSteerTests(async () => ({ makeStore: (file) => new SqliteStore(file) }))
})

describe('onBusy: steer into a turn whose row is not stored yet (PostgreSQL)', () => {
  const server = sharedPostgres()
  cleanUpFakeAgentSessions()

  describe('refused by the agent after it was recorded', () => {
    refusedSteerTests(async () => ({ store: await server.openStore() }))
  })

  describe('whose sending failed after it was recorded', () => {
    failedSteerTests(async () => ({ store: await server.openStore() }))
  })

  it('answers once the turn it names is stored, never before', async () => {
    const url = await server.createDatabase()
    const { agent, turnStarted, steerCalled, finish } = heldAgent()
    const { store, sessions } = await sessionsOnFakeAgent({
      dirPrefix: 'steer-unstored-',
      store: await server.openStore(url),
      open: () => agent,
      resume: () => agent,
    })
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    try {
      // open in its agent first, then hold every insert into turns (reads go on)
      await sessions.resume('ses_a')
      await admin.query('BEGIN')
      await admin.query('LOCK TABLE turns IN EXCLUSIVE MODE')
      let locked = true
      const first = sessions.startTurn('ses_a', input('one'))
      first.catch(() => {})
      await turnStarted
      let answeredWhileLocked: boolean | undefined
      const steer = sessions.startTurn('ses_a', input('also this'), 'steer').then((t: Turn) => {
        answeredWhileLocked = locked
        return t
      })
      await steerCalled
      // what follows the agent's acceptance in startTurn takes no I/O: it has answered by the next macrotask,
      // unless it waits for the row
      await new Promise((r) => setImmediate(r))
      locked = false
      await admin.query('COMMIT')
      const [started, steered] = await Promise.all([first, steer])
      expect(steered.id).toBe(started.id)
      expect(answeredWhileLocked).toBe(false)
      // the steer is recorded with the turn once its row is stored
      expect(await store.getTurn(steered.id)).toMatchObject({ id: steered.id, steered: [input('also this')] })
      finish()
      expect(await sessions.waitTurn(started.id)).toMatchObject({ status: 'completed' })
      await sessions.idle()
      // its event comes before the turn's end (here, also before its turn.started: the agent started the turn
      // while its row was held)
      const types = (await store.eventsAfter('ses_a', 0, 100)).map((ev) => ev.type)
      expect(types.filter((t) => t.startsWith('turn.'))).toEqual([
        'turn.steered',
        'turn.started',
        'turn.completed',
      ])
    } finally {
      finish()
      await admin.end()
      await sessions.closeAll()
    }
  })
})
