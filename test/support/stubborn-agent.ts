import { fileURLToPath } from 'node:url'
import { afterEach, expect } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { finishedTurnAt, gatewayModules, postJson, type TestGateway } from './gateway.js'
import { processesUnder, waitUntilGone } from './processes.js'

/**
 * A gateway's ACP agent `acp:stubborn` (test/fixtures/acp-stubborn-agent.mjs) that ignores its interrupt, for the
 * tests of a session turn the gateway ends by force. `refusedWhile`: the agent cannot start while that file is there.
 */
const agentScript = fileURLToPath(new URL('../fixtures/acp-stubborn-agent.mjs', import.meta.url))
export const stubbornSettings = (refusedWhile?: string): Record<string, string> => ({
  ACP_AGENTS: `stubborn=${process.execPath} ${agentScript}${refusedWhile ? ` ${refusedWhile}` : ''}`,
  KILL_GRACE_MS: '300',
  // the force-end bound's own part (5 s by default, test/unit/turn-queue.test.ts): each forced end here waited it out
  FORCE_END_AFTER_MS: '1000',
})
/** endAfterAbortMs with stubbornSettings: KILL_GRACE_MS + FORCE_END_AFTER_MS. */
export const boundMs = 1300

/** Resolves with the first event the gateway stores that `match` picks (tapped in process, as they are stored). */
export function nextEvent<T>(gw: TestGateway, match: (ev: StoredEvent) => T | undefined): Promise<T> {
  return new Promise((resolve) => {
    let found = false
    gw.ctx.tapEvents((ev) => {
      const value = found ? undefined : match(ev)
      if (value === undefined) return
      found = true
      resolve(value)
    })
  })
}

/** The agent's pid, once the hanging turn said it started its child (`working: agent <pid> child <pid>`). */
export const agentAtWork = (gw: TestGateway) =>
  nextEvent(gw, (ev) => {
    const said = ev.type === 'item.delta' ? /working: agent (\d+) child (\d+)/.exec(ev.delta) : null
    return said ? Number(said[1]) : undefined
  })

/** Settles with `work`, or with a message once `ms` passed (a hang fails with a message, not at the test's timeout). */
export async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T | string> {
  let bound: NodeJS.Timeout | undefined
  const late = new Promise<string>((resolve) => {
    bound = setTimeout(() => resolve(`${what} did not end within ${ms} ms`), ms)
  })
  try {
    return await Promise.race([work, late])
  } finally {
    clearTimeout(bound)
  }
}

/** A new acp:stubborn session with a turn its agent is at work on (and will not stop). */
export async function hangingTurn(
  gw: TestGateway,
): Promise<{ session: Session; turn: Turn; agentPid: number }> {
  const created = await postJson(`${gw.url}/v1/sessions`, { agent: 'acp:stubborn' })
  const session = (await created.json()) as Session
  expect(created.status, JSON.stringify(session)).toBe(201)
  const working = agentAtWork(gw)
  const started = await postJson(`${gw.url}/v1/sessions/${session.id}/turns`, { input: 'hang' })
  const turn = (await started.json()) as Turn
  expect(started.status, JSON.stringify(turn)).toBe(202)
  return { session, turn, agentPid: await working }
}

/** Interrupts the session's hanging turn; the turn as the interrupt answers it, once the gateway ended it by force. */
export async function interruptedByForce(gw: TestGateway, sessionId: string): Promise<Turn> {
  const answer = await within(
    postJson(`${gw.url}/v1/sessions/${sessionId}/interrupt`, {}),
    boundMs + 15_000,
    'the interrupt',
  )
  expect(answer).toBeInstanceOf(Response)
  const ended = (await (answer as Response).json()) as Turn
  expect(ended).toMatchObject({
    status: 'interrupted',
    error: expect.stringMatching(notStopped('the interrupt')),
  })
  return ended
}

/** The error of a turn the gateway ended by force `after` its interrupt or the server stop. */
export const notStopped = (after: string) =>
  new RegExp(`did not stop the turn within ${boundMs} ms of ${after}; the gateway ended it`)

/** The gateways a test starts (their modules loaded before: gatewayModules), stopped after it (no process of theirs left). */
export function gateways() {
  const held: { gw: TestGateway | undefined } = { gw: undefined }
  gatewayModules()
  afterEach(async () => {
    const dir = held.gw?.dir
    await held.gw?.close(0)
    held.gw = undefined
    if (dir) expect(await waitUntilGone(() => processesUnder(dir))).toEqual([])
  })
  return held
}

/** A `hello` turn in the session (the agent answers `done` at once), once it ended. */
export async function helloTurn(gw: TestGateway, sessionId: string): Promise<Turn> {
  const sent = await postJson(`${gw.url}/v1/sessions/${sessionId}/turns`, { input: 'hello' })
  const turn = (await sent.json()) as Turn
  expect(sent.status, JSON.stringify(turn)).toBe(202)
  return finishedTurnAt(gw.url, sessionId, turn.id)
}

/** GET /v1/sessions/:id: the session with its turns. */
export const readSession = async (url: string, id: string) =>
  (await (await fetch(`${url}/v1/sessions/${id}`)).json()) as Session & { turns: Turn[] }
