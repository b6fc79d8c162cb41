import { afterEach, describe, expect, it, vi } from 'vitest'
import type { AgentSession, TurnInput } from '../../src/agents/session.js'
import { loadConfig } from '../../src/config/load.js'
import { ActiveRuns } from '../../src/core/active-runs.js'
import type { LiveSession } from '../../src/core/live-sessions.js'
import { queuedTurn, TurnQueue } from '../../src/core/turn-queue.js'
import { AppError } from '../../src/protocol/errors.js'
import { removeDir, tempDir } from '../support/temp.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d)
})

const text = (t: string): TurnInput => [{ type: 'text', text: t }]

/** A turn queue whose turns run until the test ends them; the live session's agent records what was steered. */
function setup(maxQueued = 2, forceEndMs = 5000) {
  const dir = tempDir()
  dirs.push(dir)
  // KILL_GRACE_MS 0: a turn is ended by force `forceEndMs` after its interrupt (endAfterAbortMs), and its end
  // waits as long for the answers of its steers on their way
  const config = loadConfig(
    { MAX_QUEUED_TURNS: String(maxQueued), KILL_GRACE_MS: '0', FORCE_END_AFTER_MS: String(forceEndMs) },
    dir,
  )
  const active = new ActiveRuns()
  const steered: TurnInput[] = []
  /** What the queue had recorded (ctx.steering) for each steer: the turn and the input. */
  const recorded: { turnId: string; input: TurnInput }[] = []
  let recordError: Error | undefined
  /** The steers withdrawn after their sending failed (ctx.steerFailed), with why. */
  const withdrawn: { seq: number; error: string }[] = []
  let withdrawError: Error | undefined
  /** The accepted steers settled as their turn ended without them (ctx.steerLeft), with how it ended. */
  const settledSteers: { turnId: string; input: TurnInput; status: string | undefined }[] = []
  /** The recorded steers that became the next turn (ctx.steerQueued). */
  const requeued: { seq: number; input: TurnInput }[] = []
  const live: LiveSession = {
    agent: {
      // an agent that steers: the steer is recorded before it goes on
      steer: async (input: TurnInput, sending?: () => Promise<void>) => {
        await sending?.()
        steered.push(input)
      },
    } as unknown as AgentSession,
    cwd: dir,
    agentSessionId: 'thread-1',
    queue: [],
    claim: 1,
    limited: false,
    approvalPolicy: null,
    inContainer: false,
  }
  const started: string[] = []
  const endOf = new Map<string, () => void>()
  let idleCalls = 0
  let accepting = true
  const neverStarted: string[] = []
  const forced: { turnId: string; why: string }[] = []
  const queue = new TurnQueue({
    config,
    active,
    accepting: () => accepting,
    execute: (_id, _live, turn) => {
      started.push(turn.id)
      return new Promise<void>((resolve) => endOf.set(turn.id, resolve))
    },
    nothingToStart: () => void idleCalls++,
    neverStarting: async (_id, _live, turn) => void neverStarted.push(turn.id),
    steering: async (_id, _live, turn, input) => {
      if (recordError) throw recordError
      recorded.push({ turnId: turn.id, input })
      return { turnId: turn.id, seq: recorded.length, input }
    },
    steerFailed: async (_id, _live, failed, error) => {
      if (withdrawError) throw withdrawError
      withdrawn.push({ seq: failed.seq, error })
    },
    steerQueued: async (id, _live, steer, input) => {
      requeued.push({ seq: steer.seq, input })
      return queuedTurn(id, input)
    },
    steerLeft: async (_id, _live, turn, left, ended) => {
      settledSteers.push({ turnId: turn.id, input: left.input, status: ended.status })
    },
    forceEnd: async (_id, live, turn, why) => {
      forced.push({ turnId: turn.id, why })
      return live
    },
  })
  return {
    queue,
    live,
    steered,
    recorded,
    failRecords: (err: Error) => {
      recordError = err
    },
    withdrawn,
    settledSteers,
    requeued,
    failWithdrawals: (err: Error) => {
      withdrawError = err
    },
    started,
    end: (turnId: string) => endOf.get(turnId)!(),
    idleCalls: () => idleCalls,
    neverStarted,
    forced,
    active,
    stopAccepting: () => {
      accepting = false
    },
  }
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * `live`'s agent records a steer (`sending`), then answers it (accepted, `taken` as given) only once the test calls
 * `answer()`; `onItsWay` resolves once it is recorded and on its way.
 */
function steerAnsweredWhenLet(live: LiveSession, taken: boolean) {
  let answer!: () => void
  const answered = new Promise<void>((resolve) => (answer = resolve))
  let sent!: () => void
  const onItsWay = new Promise<void>((resolve) => (sent = resolve))
  live.agent.steer = async (_input: TurnInput, sending?: () => Promise<void>) => {
    await sending?.()
    sent()
    await answered
    return { taken: Promise.resolve(taken) }
  }
  return { answer, onItsWay }
}

describe('TurnQueue', () => {
  it('runs one turn of a session at a time, the next when the previous ended', async () => {
    const { queue, live, started, end, idleCalls } = setup()
    const first = queuedTurn('ses_1', text('one'))
    const second = queuedTurn('ses_1', text('two'))
    queue.push('ses_1', live, first)
    queue.push('ses_1', live, second)
    expect(started).toEqual([first.id])
    expect(live.current?.turn.id).toBe(first.id)
    expect(live.queue.map((t) => t.id)).toEqual([second.id])
    expect(queue.holds(first.id) && queue.holds(second.id)).toBe(true)
    end(first.id)
    await queue.ended(first.id)
    await settle()
    expect(queue.holds(first.id)).toBe(false)
    expect(started).toEqual([first.id, second.id])
    end(second.id)
    await queue.idle()
    await settle()
    expect(live.current).toBeUndefined()
    expect(idleCalls()).toBeGreaterThan(0)
  })

  it('a busy session follows onBusy: queue, steer into the running turn, reject, or 429 when the queue is full', async () => {
    const { queue, live, steered, recorded } = setup(1)
    expect(await queue.whenBusy('ses_1', live, text('x'), 'reject')).toEqual({}) // idle: nothing to follow
    const running = queuedTurn('ses_1', text('one'))
    queue.push('ses_1', live, running)
    expect(await queue.whenBusy('ses_1', live, text('more'), 'queue')).toEqual({})
    expect((await queue.whenBusy('ses_1', live, text('steer me'), 'steer')).steeredInto).toBe(running)
    expect(steered).toEqual([text('steer me')])
    expect(recorded).toEqual([{ turnId: running.id, input: text('steer me') }])
    await expect(queue.whenBusy('ses_1', live, text('x'), 'reject')).rejects.toMatchObject({
      code: 'conflict',
    })
    queue.push('ses_1', live, queuedTurn('ses_1', text('two')))
    const full = await queue.whenBusy('ses_1', live, text('three'), 'queue').catch((e: unknown) => e)
    expect(full).toBeInstanceOf(AppError)
    expect(full).toMatchObject({ code: 'over_capacity' })
  })

  it('a steer that finds no agent turn to steer into (the running one starts or ends) queues the input', async () => {
    const { queue, live, end, started, recorded } = setup()
    const running = queuedTurn('ses_1', text('one'))
    queue.push('ses_1', live, running)
    live.agent.steer = async () => {
      throw new AppError('conflict', 'no turn is running in this session')
    }
    expect(await queue.whenBusy('ses_1', live, text('steer me'), 'steer')).toEqual({ refused: undefined })
    // refused before it was sent: nothing recorded (the input becomes the next turn, recorded as its input)
    expect(recorded).toEqual([])
    // the running turn ends while its steer is on its way: the steer answers with that turn, not a crash
    live.agent.steer = async () => end(running.id)
    expect((await queue.whenBusy('ses_1', live, text('late'), 'steer')).steeredInto).toBe(running)
    expect(started).toEqual([running.id])
  })

  it('a steer the agent refuses after it was recorded (its turn ended meanwhile) says so, even with a full queue', async () => {
    const { queue, live, recorded } = setup(1)
    const running = queuedTurn('ses_1', text('one'))
    queue.push('ses_1', live, running)
    queue.push('ses_1', live, queuedTurn('ses_1', text('two')))
    live.agent.steer = async (_input: TurnInput, sending?: () => Promise<void>) => {
      await sending?.()
      throw new AppError('conflict', 'no turn is running in this session')
    }
    // the new turn that takes the input is stored with the steer's withdrawal (SessionState.unsteer); the input
    // was accepted once already, so a full queue does not drop it
    expect(await queue.whenBusy('ses_1', live, text('late'), 'steer')).toEqual({
      refused: { turnId: running.id, seq: 1, input: text('late') },
      // called once the new turn is stored with the withdrawal: the ended turn's end waits for it
      settled: expect.any(Function),
    })
    expect(recorded).toEqual([{ turnId: running.id, input: text('late') }])
  })

  it('a steer accepted while its turn ends: the end waits for its answer, then settles it; one sent after that queues', async () => {
    const { queue, live, settledSteers, recorded } = setup()
    const running = queuedTurn('ses_1', text('one'))
    queue.push('ses_1', live, running)
    // accepted, never taken: its answer comes back once the test lets it
    const { answer, onItsWay } = steerAnsweredWhenLet(live, false)
    const steer = queue.whenBusy('ses_1', live, text('on its way'), 'steer')
    await onItsWay
    // the turn ended in its agent: its steers are settled before its end is stored, its answer waited for
    let settled = false
    const settling = queue.settleSteers('ses_1', live, running, { status: 'completed' }).then(() => {
      settled = true
    })
    await settle()
    expect(settled).toBe(false)
    answer()
    expect((await steer).steeredInto).toBe(running)
    await settling
    expect(settledSteers).toEqual([{ turnId: running.id, input: text('on its way'), status: 'completed' }])
    // sent after the turn's steers were settled (its end being stored): not recorded into it, it queues
    live.agent.steer = async (_input: TurnInput, sending?: () => Promise<void>) => {
      await sending?.()
      return { taken: Promise.resolve(false) }
    }
    expect(await queue.whenBusy('ses_1', live, text('too late'), 'steer')).toEqual({ refused: undefined })
    expect(recorded).toEqual([{ turnId: running.id, input: text('on its way') }])
    expect(settledSteers).toHaveLength(1)
  })

  it("a steer its agent does not answer within the bound is given up before its turn's end is stored: it became the next turn, its late acceptance changes nothing", async () => {
    const { queue, live, settledSteers, requeued } = setup(2, 100)
    const running = queuedTurn('ses_1', text('one'))
    queue.push('ses_1', live, running)
    // accepted once the turn's end was stored, even said taken: too late for the turn
    const { answer, onItsWay } = steerAnsweredWhenLet(live, true)
    const steer = queue.whenBusy('ses_1', live, text('slow'), 'steer')
    await onItsWay
    await queue.settleSteers('ses_1', live, running, { status: 'completed' })
    // settled before the end is stored: the input is the next turn, and the client is answered with it
    expect(requeued).toEqual([{ seq: 1, input: text('slow') }])
    const outcome = await steer
    expect(outcome.steeredInto).toBeUndefined()
    expect(outcome.queuedAs).toMatchObject({ input: text('slow'), status: 'queued' })
    answer()
    await settle()
    expect(requeued).toHaveLength(1)
    expect(settledSteers).toEqual([])
  })

  it('a turn ended by force: the steers its agent is not known to have taken are settled, without waiting for it', async () => {
    const { queue, live, settledSteers, requeued } = setup()
    const running = queuedTurn('ses_1', text('one'))
    queue.push('ses_1', live, running)
    let taken = true
    live.agent.steer = async (_input: TurnInput, sending?: () => Promise<void>) => {
      await sending?.()
      // the first one taken into the turn; the second never known (the agent does not stop)
      return { taken: taken ? Promise.resolve(true) : new Promise<boolean>(() => {}) }
    }
    await queue.whenBusy('ses_1', live, text('taken'), 'steer')
    taken = false
    await queue.whenBusy('ses_1', live, text('not known'), 'steer')
    // a third one the agent never answers: the force does not wait for it either, it becomes the next turn
    let sent!: () => void
    const onItsWay = new Promise<void>((resolve) => (sent = resolve))
    live.agent.steer = async (_input: TurnInput, sending?: () => Promise<void>) => {
      await sending?.()
      sent()
      return new Promise<never>(() => {})
    }
    const unanswered = queue.whenBusy('ses_1', live, text('unanswered'), 'steer')
    await onItsWay
    await settle()
    await queue.settleSteers('ses_1', live, running, { status: 'interrupted' }, true)
    expect(settledSteers).toEqual([{ turnId: running.id, input: text('not known'), status: 'interrupted' }])
    expect(requeued).toEqual([{ seq: 3, input: text('unanswered') }])
    expect((await unanswered).queuedAs).toMatchObject({ input: text('unanswered') })
  })

  it("a steer whose record fails is refused with the record's error, and never reaches the agent", async () => {
    const { queue, live, steered, failRecords } = setup()
    queue.push('ses_1', live, queuedTurn('ses_1', text('one')))
    failRecords(new AppError('session_taken_over', 'taken over'))
    await expect(queue.whenBusy('ses_1', live, text('x'), 'steer')).rejects.toMatchObject({
      code: 'session_taken_over',
    })
    expect(steered).toEqual([])
  })

  it('a steer the agent refuses for another reason answers with that refusal', async () => {
    const { queue, live } = setup()
    queue.push('ses_1', live, queuedTurn('ses_1', text('one')))
    live.agent.steer = async () => {
      throw new AppError('invalid_request', 'bad input')
    }
    await expect(queue.whenBusy('ses_1', live, text('x'), 'steer')).rejects.toMatchObject({
      code: 'invalid_request',
    })
  })

  it('a steer whose sending fails after it was recorded (the agent died) is withdrawn; the client gets why, and that it may send it again', async () => {
    const { queue, live, recorded, withdrawn, failWithdrawals } = setup()
    const running = queuedTurn('ses_1', text('one'))
    queue.push('ses_1', live, running)
    live.agent.steer = async (_input: TurnInput, sending?: () => Promise<void>) => {
      await sending?.()
      throw new Error('codex app-server closed the connection')
    }
    const failed = await queue.whenBusy('ses_1', live, text('x'), 'steer').catch((e: unknown) => e)
    expect(failed).toMatchObject({
      code: 'agent_failed',
      status: 500,
      details: { turnId: running.id, steeredSeq: 1 },
    })
    expect((failed as Error).message).toMatch(
      /did not reach the agent: codex app-server closed.*withdrawn.*send it again/,
    )
    expect(recorded).toHaveLength(1)
    expect(withdrawn).toEqual([{ seq: 1, error: 'codex app-server closed the connection' }])
    // the agent's own refusal keeps its code; a withdrawal the store refused is said
    live.agent.steer = async (_input: TurnInput, sending?: () => Promise<void>) => {
      await sending?.()
      throw new AppError('invalid_request', 'codex: turn/steer failed (-32600): bad input')
    }
    failWithdrawals(new Error('database or disk is full'))
    const refused = await queue.whenBusy('ses_1', live, text('y'), 'steer').catch((e: unknown) => e)
    expect(refused).toMatchObject({ code: 'invalid_request', details: { turnId: running.id, steeredSeq: 2 } })
    expect((refused as Error).message).toMatch(/could not be withdrawn \(database or disk is full\)/)
  })

  it('waiting for a turn ends at its timeout; a released turn no longer holds anyone', async () => {
    const { queue, live } = setup()
    const turn = queuedTurn('ses_1', text('one'))
    queue.push('ses_1', live, turn)
    await queue.ended(turn.id, 20) // still running: the wait gives up
    expect(queue.holds(turn.id)).toBe(true)
    queue.release(turn.id)
    expect(queue.holds(turn.id)).toBe(false)
    await queue.ended(turn.id)
  })

  it('a turn answered as stored: its waiter gets it at once; a next turn started meanwhile keeps running when the first one is released', async () => {
    const { queue, live, started, end } = setup()
    const first = queuedTurn('ses_1', text('one'))
    queue.push('ses_1', live, first)
    const stored = { ...first, status: 'completed' as const, finalResponse: 'done' }
    const waiting = queue.ended(first.id)
    // runTurn: the end stored, the session no longer running this turn, the waiter answered
    live.current = undefined
    queue.answer(first.id, stored)
    expect(await waiting).toBe(stored)
    expect(queue.holds(first.id)).toBe(true) // held until its bookkeeping is done (idle() waits for it)
    // the answered client sends its next turn before the first one's execute() returned
    const second = queuedTurn('ses_1', text('two'))
    queue.push('ses_1', live, second)
    expect(started).toEqual([first.id, second.id])
    end(first.id)
    await settle()
    expect(queue.holds(first.id)).toBe(false)
    expect((live.current as LiveSession['current'])?.turn.id).toBe(second.id)
    expect(queue.holds(second.id)).toBe(true)
    // a turn released without an answer (archived, taken over) gives its waiter nothing: it reads the store
    const waitingSecond = queue.ended(second.id)
    queue.release(second.id)
    expect(await waitingSecond).toBeUndefined()
    end(second.id)
    await queue.idle()
  })

  it('after shutdown a queued turn does not start: it is ended and released, so idle() does not wait for it', async () => {
    const { queue, live, started, end, stopAccepting, neverStarted } = setup()
    const first = queuedTurn('ses_1', text('one'))
    const second = queuedTurn('ses_1', text('two'))
    queue.push('ses_1', live, first)
    queue.push('ses_1', live, second)
    stopAccepting()
    // the shutdown's wait for the session's turns (SessionManager.idle) begins while the first one runs
    const idle = queue.idle()
    end(first.id)
    await queue.ended(first.id)
    await settle()
    expect(started).toEqual([first.id])
    expect(neverStarted).toEqual([second.id])
    expect(live.queue).toEqual([])
    expect(queue.holds(second.id)).toBe(false)
    await idle
  })

  it('a turn queued after shutdown began (its start had passed the check) does not start either', async () => {
    const { queue, live, started, stopAccepting, neverStarted } = setup()
    stopAccepting()
    const late = queuedTurn('ses_1', text('late'))
    queue.push('ses_1', live, late)
    await queue.idle()
    expect(started).toEqual([])
    expect(neverStarted).toEqual([late.id])
  })

  it('a turn that does not end within its bound after its interrupt is ended by force; the next one starts', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      const { queue, live, started, end, forced, active } = setup()
      const first = queuedTurn('ses_1', text('one'))
      const second = queuedTurn('ses_1', text('two'))
      queue.push('ses_1', live, first)
      queue.push('ses_1', live, second)
      const waiting = queue.ended(first.id)
      live.current!.controller.abort('cancelled')
      vi.advanceTimersByTime(4999)
      await settle()
      expect(forced).toEqual([])
      vi.advanceTimersByTime(1)
      await waiting
      await settle()
      expect(forced).toEqual([
        {
          turnId: first.id,
          why: expect.stringMatching(/did not stop the turn within 5000 ms of the interrupt/),
        },
      ])
      expect(queue.holds(first.id)).toBe(false)
      expect(started).toEqual([first.id, second.id])
      expect(live.current?.turn.id).toBe(second.id)
      expect(active.size).toBe(1)
      // the first turn's execution ends late: it changes nothing (the second one still runs)
      end(first.id)
      await settle()
      expect(live.current?.turn.id).toBe(second.id)
      expect(started).toEqual([first.id, second.id])
      end(second.id)
      await queue.idle()
      expect(forced).toHaveLength(1)
    } finally {
      vi.useRealTimers()
    }
  })

  it("a turn that ends within its bound is not ended by force; the stop's abort is left to the drain", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      const { queue, live, end, forced } = setup()
      const first = queuedTurn('ses_1', text('one'))
      queue.push('ses_1', live, first)
      live.current!.controller.abort('cancelled')
      end(first.id)
      await queue.idle()
      const second = queuedTurn('ses_1', text('two'))
      queue.push('ses_1', live, second)
      live.current!.controller.abort('shutdown')
      vi.advanceTimersByTime(60_000)
      await settle()
      expect(forced).toEqual([])
      end(second.id)
      await queue.idle()
    } finally {
      vi.useRealTimers()
    }
  })

  it("the stop's drain ends a turn that did not end after its abort by force, and idle() no longer waits for it", async () => {
    const { queue, live, forced, active } = setup()
    const stuck = queuedTurn('ses_1', text('stuck'))
    queue.push('ses_1', live, stuck)
    await active.drain(0, 20)
    expect(forced).toEqual([
      { turnId: stuck.id, why: expect.stringMatching(/within 5000 ms of the server stop/) },
    ])
    await queue.idle()
    expect(live.current).toBeUndefined()
  })
})
