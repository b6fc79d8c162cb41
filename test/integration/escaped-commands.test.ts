import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Run } from '../../src/protocol/runs.js'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { waitFor } from '../contract/driver-contract.js'
import type { MockLlm } from '../mock-llm/index.js'
import { postJson, sharedGateway, type TestGateway } from '../support/gateway.js'
import { killAll, listProcesses, type ProcInfo, waitUntilGone } from '../support/processes.js'

// A command that leaves the agent's process tree (a double fork into a session of its own: reparented to init)
// while the codex app-server that ran it keeps running for other runs and turns. Codex's interrupt ends the
// command's own process group and its background terminals, never this one; the app-server's leftover sweep
// runs only once the app-server ended. The gateway ends it when the run or turn that started it ends.
/** Unique per test: the escaped sleep is found by its argument, and only it. */
let marker: string
beforeEach(() => {
  marker = `${3000 + Math.floor(Math.random() * 6000)}.${process.pid}`
})
// a failed expectation must not leave the escaped sleep running for an hour
afterEach(() => killAll(escaped()))

const escaped = (): ProcInfo[] => listProcesses().filter((p) => p.cmd === `sleep ${marker}`)
const foreground = (): ProcInfo[] => listProcesses().filter((p) => p.cmd.includes('sleep 31'))
/**
 * Double-forks the long sleep out of codex's tree (stdio closed so it holds none of codex's pipes), from the
 * root directory: it is found by the thread codex names in its environment, not by where it works.
 */
const script = (mock: MockLlm) =>
  mock.script(
    {
      kind: 'exec_command',
      cmd: `(cd / && setsid sleep ${marker} </dev/null >/dev/null 2>&1 &); sleep 31`,
    },
    { kind: 'text', text: 'never' },
  )
/**
 * Without a sandbox: the double fork then reaches init, as the inner bwrap did in the case seen under load
 * (with bwrap's own pid namespace, what is forked inside dies with the namespace, so it cannot be staged
 * deterministically that way).
 */
const sandbox = 'danger-full-access'
const json = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T
/** The escaped process is running outside codex's tree, and the command that started it still runs. */
const escapedAndRunning = () => waitFor(() => escaped().length > 0 && foreground().length > 0)

/** A session turn that starts the escape and is interrupted: the escaped sleep ends, the session goes on. */
async function interruptedEscape(mock: MockLlm, gw: TestGateway, sessionId: string) {
  script(mock)
  const started = await json<Turn>(postJson(`${gw.url}/v1/sessions/${sessionId}/turns`, { input: 'escape' }))
  await escapedAndRunning()
  const interrupted = await json<Turn>(postJson(`${gw.url}/v1/sessions/${sessionId}/interrupt`, {}))
  expect(interrupted).toMatchObject({ id: started.id, status: 'interrupted' })
  expect(await waitUntilGone(escaped, 30_000)).toEqual([])
  mock.reset()
  mock.script({ kind: 'text', text: 'back' })
  const next = await json<Turn>(
    postJson(`${gw.url}/v1/sessions/${sessionId}/turns?wait=true`, { input: 'are you back' }),
  )
  expect(next).toMatchObject({ status: 'completed', finalResponse: 'back' })
}

describe('commands that escaped the agent process tree end with their run or turn', () => {
  const shared = sharedGateway({ ALLOW_DANGER_FULL_ACCESS: 'true' })
  let mock: MockLlm
  let gw: TestGateway
  beforeEach(() => {
    ;({ mock, gw } = shared)
  })
  it('a warm one-shot run (POST /v1/runs) cancelled while its command runs', {
    timeout: 120_000,
  }, async () => {
    script(mock)
    const res = await postJson(`${gw.url}/v1/runs`, { prompt: 'escape', sandbox })
    const run = await json<Run>(res)
    expect(res.status).toBe(202)
    await escapedAndRunning()
    expect((await postJson(`${gw.url}/v1/runs/${run.id}/cancel`, {})).status).toBe(200)
    let ended = run
    for (const deadline = Date.now() + 30_000; ended.status !== 'cancelled' && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 50))
      ended = await json<Run>(fetch(`${gw.url}/v1/runs/${run.id}`))
    }
    expect(ended.status).toBe('cancelled')
    expect(await waitUntilGone(escaped, 30_000)).toEqual([])
    // the shared app-server itself goes on: the next warm run is served
    mock.reset()
    mock.script({ kind: 'text', text: 'still here' })
    const next = await json<Run>(postJson(`${gw.url}/v1/runs?wait=true`, { prompt: 'again' }))
    expect(next).toMatchObject({ status: 'succeeded', finalResponse: 'still here' })
  })

  it('two warm runs on the same app-server in the same workspace: ending one leaves what escaped the other', {
    timeout: 120_000,
  }, async () => {
    const other = `${marker}1`
    const escapedOther = () => listProcesses().filter((p) => p.cmd === `sleep ${other}`)
    try {
      // where they work cannot tell them apart: only the thread each names can
      for (const [name, arg] of [
        ['escape-one', other],
        ['escape-two', marker],
      ] as const)
        mock.on(
          `${name} please`,
          { kind: 'exec_command', cmd: `(setsid sleep ${arg} </dev/null >/dev/null 2>&1 &); sleep 31` },
          { kind: 'text', text: 'never' },
        )
      const submit = async (name: string) => {
        const res = await postJson(`${gw.url}/v1/runs`, { prompt: `${name} please`, sandbox })
        expect(res.status).toBe(202)
        return json<Run>(res)
      }
      const first = await submit('escape-one')
      await waitFor(() => escapedOther().length > 0)
      const second = await submit('escape-two')
      await waitFor(() => escaped().length > 0)
      expect(escapedOther()[0]?.cwd).toBe(escaped()[0]?.cwd)
      expect((await postJson(`${gw.url}/v1/runs/${second.id}/cancel`, {})).status).toBe(200)
      expect(await waitUntilGone(escaped, 30_000)).toEqual([])
      // the sweep that ended the second run's escaped sleep found the first run's too, and left it
      expect(escapedOther()).toHaveLength(1)
      expect((await json<Run>(fetch(`${gw.url}/v1/runs/${first.id}`))).status).toBe('running')
      expect((await postJson(`${gw.url}/v1/runs/${first.id}/cancel`, {})).status).toBe(200)
      expect(await waitUntilGone(escapedOther, 30_000)).toEqual([])
    } finally {
      killAll(escapedOther())
    }
  })

  it('a session turn interrupted while its command runs', { timeout: 120_000 }, async () => {
    const session = await json<Session>(
      postJson(`${gw.url}/v1/sessions`, { sandbox, approvalPolicy: 'never' }),
    )
    await interruptedEscape(mock, gw, session.id)
  })
})

describe('on a thread resumed after an idle unload (its owner value is the thread id)', () => {
  const shared = sharedGateway({ ALLOW_DANGER_FULL_ACCESS: 'true', SESSION_IDLE_SECONDS: '1' })

  it('a session turn interrupted while its command runs', { timeout: 120_000 }, async () => {
    const { mock, gw } = shared
    const session = await json<Session>(
      postJson(`${gw.url}/v1/sessions`, { sandbox, approvalPolicy: 'never' }),
    )
    mock.script({ kind: 'text', text: 'first' })
    const first = await json<Turn>(
      postJson(`${gw.url}/v1/sessions/${session.id}/turns?wait=true`, { input: 'hi' }),
    )
    expect(first.status).toBe('completed')
    await waitFor(() => !gw.ctx.tenancy.scope(null).sessions.isLoaded(session.id))
    await interruptedEscape(mock, gw, session.id)
  })
})
