import { afterAll, describe, expect, it } from 'vitest'
import type { Run } from '../../src/protocol/runs.js'
import { gatewayEnv, postJson } from '../support/gateway.js'
import { signalPostgres } from '../support/postgres-signals.js'
import { killAll, listProcesses, waitUntilGone } from '../support/processes.js'
import { type ServerProcess, spawnHostOf, startServerProcess } from '../support/server-process.js'
import { sharedPostgres } from '../support/shared-postgres.js'
import { within } from '../support/stubborn-agent.js'

// a server of its own: the test freezes it (SIGSTOP), which every other file on a shared server would feel
const server = sharedPostgres({ ownServer: true })
const signalServer = (sig: NodeJS.Signals) => signalPostgres(server.ownServer().dir, sig)

/** STORE_QUERY_TIMEOUT_SECONDS of the gateway: how long its stop waits for the frozen server after its runs ended. */
const queryTimeoutSeconds = 2
/**
 * How long the stop may take: its runs' end (SHUTDOWN_GRACE_SECONDS 0; KILL_GRACE_MS 2000 and FORCE_END_AFTER_MS
 * 5000 at most, the defaults), then the store's bound, then the exit's sweep (KILL_GRACE_MS), and a margin for a
 * loaded machine. Before the bound there was none: it waited for the server.
 */
const stopBoundMs = 2000 + 5000 + queryTimeoutSeconds * 1000 + 2000 + 20_000

/**
 * The production entry (`agent-gateway serve`, what `npm start` runs: the built command, else src/main.ts) with the
 * PostgreSQL store, stopped by SIGTERM while its PostgreSQL server hangs (SIGSTOP) and a run is in flight: the
 * process exits 0 within its bound (its runs ended, then STORE_QUERY_TIMEOUT_SECONDS for the store, then its
 * connections destroyed), its run's processes and its spawn host gone. postgres-stop-frozen.test.ts stops a gateway in the test's
 * process (server.close); this is the CLI's SIGTERM, its exit and what the OS has left.
 */
describe('agent-gateway serve stopped by SIGTERM while its PostgreSQL server hangs', () => {
  let gateway: ServerProcess | undefined
  let frozen = false
  /** The run's command line, unique to this test: what must not outlive the gateway. */
  const sleeper = `sleep 987.${process.pid}`
  const runProcesses = () => listProcesses().filter((p) => p.cmd === sleeper)
  afterAll(async () => {
    if (frozen) signalServer('SIGCONT')
    await gateway?.stop('SIGKILL')
    killAll(runProcesses())
  })

  it('exits within its bound, its runs and their processes ended', { timeout: 120_000 }, async () => {
    const { env, dir } = gatewayEnv(null, {
      DATABASE_URL: await server.createStoreDatabase(),
      CLI_LIST: 'sh',
      STORE_QUERY_TIMEOUT_SECONDS: String(queryTimeoutSeconds),
      SHUTDOWN_GRACE_SECONDS: '0',
    })
    const started = await startServerProcess(env, dir)
    if (!('url' in started))
      throw new Error(`serve exited (${started.exitCode}):\n${started.output.join('\n')}`)
    gateway = started
    const res = await postJson(`${gateway.url}/v1/runs`, {
      agent: 'cli',
      command: { cli: 'sh', args: ['-c', `echo ready; exec ${sleeper}`] },
    })
    const run = (await res.json()) as Run
    expect(res.status, JSON.stringify(run)).toBe(202)
    // its agent runs: a process of another process's, seen in /proc (no event of the gateway's to wait on here)
    const deadline = Date.now() + 30_000
    while (runProcesses().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    expect(runProcesses()).toHaveLength(1)
    const host = spawnHostOf(gateway)

    signalServer('SIGSTOP')
    frozen = true
    let exited: number | null | string
    try {
      // without the store's bound it waited for the server (here until SIGCONT below)
      exited = await within(gateway.stop('SIGTERM'), stopBoundMs, 'the stop')
    } finally {
      signalServer('SIGCONT')
      frozen = false
    }
    // its exit code, not within()'s message that it did not end
    expect(exited, gateway.output.slice(-20).join('\n')).toBe(0)
    // its record left to a takeover, and said so: not a removal tried on the destroyed connections ("removing this
    // node failed at the stop (Cannot use a pool after calling end on the pool)")
    const output = gateway.output.join('\n')
    gateway = undefined
    expect(output).toContain("this node's record is not removed: the stop's bound for the store (2000 ms")
    expect(output).not.toContain('Cannot use a pool')
    // what it ran is gone, and so is its spawn host
    expect(await waitUntilGone(runProcesses)).toEqual([])
    if (host !== undefined)
      expect(await waitUntilGone(() => listProcesses().filter((p) => p.pid === host))).toEqual([])
  })
})
