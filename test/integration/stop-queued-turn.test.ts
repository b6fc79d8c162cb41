import { describe, expect, it } from 'vitest'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { held } from '../mock-llm/asked.js'
import { gatewayPerTest, postJson, startGateway } from '../support/gateway.js'
import { processesUnder, waitUntilGone } from '../support/processes.js'

/**
 * A gateway stopped while a session runs a turn and has another queued behind it: the queued turn never starts
 * (the gateway is closing), it is recorded interrupted, and the stop ends with the codex app-server gone. The
 * stop once waited for that queued turn forever, so the codex app-server outlived its caller (the lifecycle
 * stress stopped by SIGINT gave up closing after a minute and exited under it; codex then wrote its files into
 * the temp dir that exit removed). The real codex app-server, the mock model.
 */
describe('a stop with a turn queued behind a running one', () => {
  const fx = gatewayPerTest()

  it('the queued turn is recorded interrupted, the stop ends and no agent process is left', async () => {
    // no grace: the running turn is ended at once (its answer is held back, so it would never end on its own)
    fx.gw = await startGateway(fx.mock, { SHUTDOWN_GRACE_SECONDS: '0' })
    const { url, dir } = fx.gw
    const slow = held({ kind: 'text', text: 'never answered' })
    fx.mock.script(slow.step)
    const session = (await (await postJson(`${url}/v1/sessions`, {})).json()) as Session
    const first = (await (
      await postJson(`${url}/v1/sessions/${session.id}/turns`, { input: 'first' })
    ).json()) as Turn
    await slow.asked
    const second = await postJson(`${url}/v1/sessions/${session.id}/turns`, {
      input: 'second',
      onBusy: 'queue',
    })
    const queued = (await second.json()) as Turn
    expect({ status: second.status, turn: queued.status }).toEqual({ status: 202, turn: 'queued' })
    const ends = new Map<string, string>()
    fx.gw.ctx.tapEvents((ev) => {
      if ((ev.type === 'turn.completed' || ev.type === 'turn.failed') && ev.turnId)
        ends.set(ev.turnId, ev.type === 'turn.completed' ? (ev.status ?? 'completed') : 'failed')
    })
    // bounded, so a stop that hangs fails here with a message (not at the test's timeout, with its close too)
    let bound: NodeJS.Timeout | undefined
    const outcome = await Promise.race([
      fx.stop().then(() => 'stopped'),
      new Promise<string>((resolve) => {
        bound = setTimeout(() => resolve('the stop did not end within 30 s'), 30_000)
      }),
    ])
    clearTimeout(bound)
    slow.release()
    expect(outcome).toBe('stopped')
    expect(ends.get(queued.id)).toBe('interrupted')
    expect(ends.has(first.id)).toBe(true)
    expect(await waitUntilGone(() => processesUnder(dir))).toEqual([])
  })
})
