import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Run } from '../../src/protocol/runs.js'
import {
  gatewayModules,
  postJson,
  readNdjson,
  startGateway,
  succeededRun,
  type TestGateway,
} from '../support/gateway.js'
import { killAll, listProcesses, waitUntilGone } from '../support/processes.js'

/**
 * A `cli` run whose command starts a daemon in a session of its own that keeps the run's stdout and stderr
 * (`setsid sleep 300 &`), then exits. The group kill at its exit does not reach the daemon, and the run once
 * waited for its output to close until the daemon ended: its timeout ends only an agent still running (Python's
 * subprocess.run(capture_output=True) hangs the same way). Now it ends OUTPUT_DRAIN_MS after its agent exited,
 * with the agent's exit code and all it printed, and the daemon (it carries the run's marker) is ended. A real
 * gateway over real sockets, a real `sh` through the `cli` agent.
 */
const script = [
  'f=$(mktemp)',
  // the daemon writes its pid once its setsid is done, so the script's exit cannot end it with the group
  `setsid sh -c 'echo $$ > "$1"; exec sleep 300' daemon "$f" &`,
  'while [ ! -s "$f" ]; do sleep 0.01; done',
  'echo "daemon $(cat "$f")" >&2',
  'rm -f "$f"',
  'echo hi',
].join('\n')

gatewayModules()

describe('a cli run whose daemon holds its output', () => {
  let gw: TestGateway
  const daemons: number[] = []
  const living = (pid: number) => listProcesses().filter((p) => p.pid === pid)
  beforeAll(async () => {
    gw = await startGateway(null, { CLI_LIST: 'sh', OUTPUT_DRAIN_MS: '500' })
  })
  afterEach(() => killAll(daemons.splice(0).flatMap(living)))
  afterAll(async () => {
    await gw?.close()
  })

  // without the bound the run ended with the daemon (300 s), not with its agent
  it('ends succeeded once its agent exited, with its output, and the daemon is ended', {
    timeout: 30_000,
  }, async () => {
    const { run, events } = await succeededRun(gw.url, {
      agent: 'cli',
      command: { cli: 'sh', args: ['-c', script] },
    })
    expect(run).toMatchObject({ status: 'succeeded', exitCode: 0, signal: null })
    const output = (stream: 'stdout' | 'stderr') =>
      events.map((e) => (e.type === 'output' && e.stream === stream ? e.data : '')).join('')
    const said = /daemon (\d+)/.exec(output('stderr'))
    expect(said, JSON.stringify(events)).not.toBeNull()
    const daemon = Number(said![1])
    daemons.push(daemon)
    expect(output('stdout')).toBe('hi\n')
    expect(events.at(-1)).toMatchObject({ type: 'run.completed', status: 'succeeded', exitCode: 0 })
    expect(await waitUntilGone(() => living(daemon))).toEqual([])
  })

  // its output went elsewhere, so nothing held the run open: the sweep of its marker after the run's end (batched,
  // its scan in the spawn host: marked-processes.ts) is what ends it; before, it lived on after the run
  it('a daemon that does not hold the output (redirected) is ended after the run as well', {
    timeout: 30_000,
  }, async () => {
    const redirected = script.replace(`daemon "$f" &`, () => `daemon "$f" >/dev/null 2>&1 </dev/null &`)
    expect(redirected).not.toBe(script)
    const { run, events } = await succeededRun(gw.url, {
      agent: 'cli',
      command: { cli: 'sh', args: ['-c', redirected] },
    })
    expect(run).toMatchObject({ status: 'succeeded', exitCode: 0, signal: null })
    const stderr = events.map((e) => (e.type === 'output' && e.stream === 'stderr' ? e.data : '')).join('')
    const said = /daemon (\d+)/.exec(stderr)
    expect(said, JSON.stringify(events)).not.toBeNull()
    const daemon = Number(said![1])
    daemons.push(daemon)
    expect(await waitUntilGone(() => living(daemon))).toEqual([])
  })
})

/**
 * The run's timeout (TIMEOUT_SECONDS) comes while its agent, exited on its own, waits for the output a daemon holds
 * (inside OUTPUT_DRAIN_MS): it was recorded `timed_out` for an agent that had finished. Its status follows the
 * agent's own exit now, and the time limit ends the wait for the output then (not OUTPUT_DRAIN_MS later).
 */
describe("a cli run whose timeout comes while a daemon holds its exited agent's output", () => {
  let gw: TestGateway
  const daemons: number[] = []
  const living = (pid: number) => listProcesses().filter((p) => p.pid === pid)
  beforeAll(async () => {
    gw = await startGateway(null, { CLI_LIST: 'sh', OUTPUT_DRAIN_MS: '600000', TIMEOUT_SECONDS: '3' })
  })
  afterEach(() => killAll(daemons.splice(0).flatMap(living)))
  afterAll(async () => {
    await gw?.close()
  })

  it('is recorded as its agent ended (succeeded, exit code 0), at its timeout, and the daemon is ended', {
    timeout: 30_000,
  }, async () => {
    // the daemon's pid as soon as it is stored: ended after the test whatever happens to the run
    gw.ctx.tapEvents((ev) => {
      const said = ev.type === 'output' ? /daemon (\d+)/.exec(ev.data) : null
      if (said) daemons.push(Number(said[1]))
    })
    // OUTPUT_DRAIN_MS is 10 minutes: a run that waits for it (the time limit not ending the wait) fails here
    const res = await postJson(`${gw.url}/v1/runs`, {
      agent: 'cli',
      command: { cli: 'sh', args: ['-c', script] },
    })
    const { id } = (await res.json()) as Run
    expect(res.status).toBe(202)
    const ended = await endedRun(gw, id, 20_000)
    expect(ended, 'the run did not end within 20 s of its 3 s time limit').not.toBeNull()
    const run = ended!
    expect({ status: run.status, exitCode: run.exitCode, reason: run.reason }).toEqual({
      status: 'succeeded',
      exitCode: 0,
      reason: 'exited',
    })
    expect(run.error).toBeNull()
    const events = await runEvents(gw, run.id)
    expect(events.at(-1)).toMatchObject({ type: 'run.completed', status: 'succeeded', reason: 'exited' })
    expect(events.some((e) => e.type === 'output' && e.stream === 'stdout' && e.data === 'hi\n')).toBe(true)
    const daemon = Number(/daemon (\d+)/.exec(JSON.stringify(events))?.[1])
    expect(daemons).toEqual([daemon])
    expect(await waitUntilGone(() => living(daemon))).toEqual([])
  })
})

const runEvents = async (gw: TestGateway, runId: string) =>
  (await readNdjson(
    await fetch(`${gw.url}/v1/runs/${runId}/events`, { headers: { accept: 'application/x-ndjson' } }),
  )) as StoredEvent[]

/** The run once it ended, read as its events end (the run's NDJSON stream ends with it); null after `ms`. */
async function endedRun(gw: TestGateway, runId: string, ms: number): Promise<Run | null> {
  try {
    const res = await fetch(`${gw.url}/v1/runs/${runId}/events`, {
      headers: { accept: 'application/x-ndjson' },
      signal: AbortSignal.timeout(ms),
    })
    await res.text()
  } catch {
    return null
  }
  return (await (await fetch(`${gw.url}/v1/runs/${runId}`)).json()) as Run
}
