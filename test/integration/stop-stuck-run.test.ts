import { afterEach, describe, expect, it } from 'vitest'
import { endServerProcesses } from '../../src/process/exit-sweep.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import { gatewayModules, postJson, startGateway, type TestGateway } from '../support/gateway.js'
import { processesInGroup, waitUntilGone } from '../support/processes.js'

/**
 * A run whose agent ignores the stop's abort: it ignores SIGTERM, and a daemon it started (a double fork into a
 * session of its own, out of its tree, ignoring SIGTERM too) holds its output open past OUTPUT_DRAIN_MS (set
 * beyond the stop's bound here), so its end does not come in time. The
 * stop once waited for it forever (ActiveRuns.drain). Now the stop ends it by force after KILL_GRACE_MS +
 * FORCE_END_AFTER_MS:
 * its process group is killed, its end recorded `interrupted` (reason `shutdown`, saying why), and the stop
 * ends. The daemon is the serve command's exit sweep's (endServerProcesses), run here as it runs there.
 * A real gateway over real sockets, a real `sh` run through the `cli` agent.
 */
const daemon = `(setsid sh -c 'trap "" TERM; echo "daemon $$"; while :; do sleep 1; done' &)`
const script = `${daemon}; trap "" TERM; while :; do sleep 1; done`

gatewayModules()

describe('a stop with a run whose agent ignores the abort', () => {
  let gw: TestGateway | undefined
  afterEach(async () => {
    await gw?.close(0)
    await endServerProcesses(300)
  })

  it('ends the run by force: its group killed, its end recorded, the stop ends', async () => {
    gw = await startGateway(null, {
      CLI_LIST: 'sh',
      KILL_GRACE_MS: '300',
      FORCE_END_AFTER_MS: '1000',
      OUTPUT_DRAIN_MS: '60000',
    })
    const events: StoredEvent[] = []
    let daemonSeen: (pid: number) => void = () => {}
    const daemonPid = new Promise<number>((resolve) => {
      daemonSeen = resolve
    })
    gw.ctx.tapEvents((ev) => {
      events.push(ev)
      const said = ev.type === 'output' ? /daemon (\d+)/.exec(ev.data) : null
      if (said) daemonSeen(Number(said[1]))
    })
    const res = await postJson(`${gw.url}/v1/runs`, {
      agent: 'cli',
      command: { cli: 'sh', args: ['-c', script] },
    })
    expect(res.status).toBe(202)
    const run = (await res.json()) as { id: string }
    const escaped = await daemonPid
    const started = events.find((e) => e.type === 'run.started')
    const leader = started?.type === 'run.started' ? started.pid : undefined
    expect(leader).toBeTypeOf('number')

    // bounded, so a stop that hangs fails here with a message (not at the test's timeout)
    let bound: NodeJS.Timeout | undefined
    const outcome = await Promise.race([
      gw.close(0).then(() => 'stopped'),
      new Promise<string>((resolve) => {
        bound = setTimeout(() => resolve('the stop did not end within 30 s'), 30_000)
      }),
    ])
    clearTimeout(bound)
    expect(outcome).toBe('stopped')
    gw = undefined

    const completed = events.find((e) => e.type === 'run.completed' && e.runId === run.id)
    expect(completed).toMatchObject({ status: 'interrupted', reason: 'shutdown' })
    expect(completed?.type === 'run.completed' && completed.error).toMatch(
      /did not end within 1300 ms of the stop's abort; its processes were killed/,
    )
    expect(await waitUntilGone(() => processesInGroup(leader!))).toEqual([])
    // the daemon left the run's tree: what the serve command's exit sweep ends, after the stop
    expect(processesInGroup(escaped).length).toBeGreaterThan(0)
    expect((await endServerProcesses(300)).found).toBeGreaterThan(0)
    expect(await waitUntilGone(() => processesInGroup(escaped))).toEqual([])
  }, 60_000)
})
