import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Run } from '../../src/protocol/runs.js'
import { apiClient } from '../support/api-client.js'
import { gatewayModules, startGateway, type TestGateway } from '../support/gateway.js'
import { signalPostgres } from '../support/postgres-signals.js'
import { processesInGroup, waitUntilGone } from '../support/processes.js'
import { sharedPostgres } from '../support/shared-postgres.js'

// a server of its own: SIGSTOP freezes all of it
const server = sharedPostgres({ ownServer: true })

gatewayModules()

/**
 * POST /v1/runs/:id/cancel of a run this node runs while PostgreSQL hangs (SIGSTOP): the run is ended here, without
 * the store (its process group gone while the store is still frozen), the cancel answered 202 with the run as this
 * node ended it, while a store read made before it still waits for the frozen server (STORE_QUERY_TIMEOUT_SECONDS
 * of a minute: the answer does not wait for the read to fail); once the store wakes, its record is `cancelled` with
 * the output it wrote, once, in order. Another tenant's token cannot cancel it (its manager does not hold it: it
 * goes the store's way, answered once the store does, 404). Before, the cancel read the run from the store first:
 * 503 for a run this node itself ran, its process going on; then 202 only once that read failed. A real `cli` run
 * over real sockets, a real PostgreSQL frozen and woken.
 */
describe('cancel of a run this node runs while the store hangs', () => {
  let gw: TestGateway
  const alpha = () => apiClient(gw.url, 'alpha-secret-1')
  const beta = () => apiClient(gw.url, 'beta-secret-2')
  beforeAll(async () => {
    gw = await startGateway(null, {
      DATABASE_URL: await server.createStoreDatabase(),
      CLI_LIST: 'sh',
      API_TOKENS: 'alpha:alpha-secret-1:read+run:team-a,beta:beta-secret-2:read+run:team-b',
      // a read of the frozen store fails only after a minute: the cancel must not wait for it
      STORE_QUERY_TIMEOUT_SECONDS: '60',
      // the outage lasts as long as the test needs: the run rides over it however loaded the machine
      STORE_OUTAGE_GRACE_SECONDS: '600',
    })
  })
  afterAll(async () => {
    await gw?.close()
  })

  const signalServer = (sig: NodeJS.Signals) => signalPostgres(server.ownServer().dir, sig)

  it('ends its process group at once, answers 202, and its record is cancelled with its output once the store wakes', {
    timeout: 120_000,
  }, async () => {
    // the agent: makes its fifo, says ready, and once released writes a line (held: the store is frozen) and sleeps
    const started = await alpha().json<Run>(
      alpha().post('/v1/runs', {
        agent: 'cli',
        command: {
          cli: 'sh',
          args: ['-c', 'mkfifo release; echo ready; read x < release; echo during-outage; exec sleep 1000'],
        },
      }),
      202,
    )
    let pid: number | undefined
    for await (const ev of gw.ctx.tenancy.scope('team-a').runs.events(started.id, 0)) {
      if (ev.type === 'run.started') pid = ev.pid
      if (ev.type === 'output') break
    }
    expect(pid).toBeGreaterThan(0)
    const release = path.join(started.request.cwd!, 'release')

    signalServer('SIGSTOP')
    let alphaCancel: Response
    let betaCancel: Promise<Response>
    let gone: ReturnType<typeof processesInGroup>
    const unanswered = { read: true, beta: true }
    let readPendingAtAnswer: boolean
    let betaPendingAtAnswer: boolean
    let read: Promise<unknown>
    try {
      await writeFile(release, 'go\n')
      // its line is read and held (the store frozen): the log's own count, as /metrics would read the store
      while (gw.ctx.log.pipedBytes === 0) await new Promise((resolve) => setTimeout(resolve, 20))
      // a store read made first: it fails only once STORE_QUERY_TIMEOUT_SECONDS passed (or answers once woken)
      read = gw.ctx.store.getRun(started.id).finally(() => (unanswered.read = false))
      // another tenant's token: not its run, so not found here; its store read does not answer while frozen
      betaCancel = beta()
        .post(`/v1/runs/${started.id}/cancel`)
        .finally(() => (unanswered.beta = false))
      alphaCancel = await alpha().post(`/v1/runs/${started.id}/cancel`)
      // answered while the read made before it still waits for the frozen server: its timeout did not fire
      readPendingAtAnswer = unanswered.read
      betaPendingAtAnswer = unanswered.beta
      // its process group is gone while the store is still frozen
      gone = await waitUntilGone(() => processesInGroup(pid!))
    } finally {
      signalServer('SIGCONT')
    }
    expect(readPendingAtAnswer).toBe(true)
    expect(betaPendingAtAnswer).toBe(true)
    // the store woke: the read answers, and the other tenant's cancel is told there is no such run of its own
    await read
    expect((await betaCancel).status).toBe(404)
    const answered = await alpha().json<Run>(alphaCancel, 202)
    expect(answered).toMatchObject({
      id: started.id,
      tenant: 'team-a',
      status: 'cancelled',
      reason: 'cancelled',
    })
    expect(gone).toEqual([])

    // the store woke: the run's record is cancelled, with all its output once, in order
    expect(await gw.ctx.tenancy.scope('team-a').runs.wait(started.id)).toMatchObject({ status: 'cancelled' })
    const record = await alpha().json<Run>(alpha().get(`/v1/runs/${started.id}`), 200)
    expect(record).toMatchObject({ status: 'cancelled', reason: 'cancelled' })
    const events = await gw.ctx.store.eventsAfter(started.id, 0, 1000)
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
    const output = events.flatMap((e) => (e.type === 'output' && e.stream === 'stdout' ? [e.data] : []))
    expect(output.join('')).toBe('ready\nduring-outage\n')
    expect(events.filter((e) => e.type === 'run.completed')).toHaveLength(1)
    expect(events.at(-1)).toMatchObject({ type: 'run.completed', status: 'cancelled' })

    // with the store up: another tenant's token finds no such run; its own is told it finished
    expect((await beta().post(`/v1/runs/${started.id}/cancel`)).status).toBe(404)
    expect((await alpha().post(`/v1/runs/${started.id}/cancel`)).status).toBe(409)
  })

  it('with the store up, a cancel of a run this node runs answers 200 with its stored end', {
    timeout: 60_000,
  }, async () => {
    const started = await alpha().json<Run>(
      alpha().post('/v1/runs', {
        agent: 'cli',
        command: { cli: 'sh', args: ['-c', 'echo ready; exec sleep 1000'] },
      }),
      202,
    )
    let pid: number | undefined
    for await (const ev of gw.ctx.tenancy.scope('team-a').runs.events(started.id, 0)) {
      if (ev.type === 'run.started') pid = ev.pid
      if (ev.type === 'output') break
    }
    expect((await beta().post(`/v1/runs/${started.id}/cancel`)).status).toBe(404)
    expect(processesInGroup(pid!).length).toBeGreaterThan(0)
    const answered = await alpha().json<Run>(alpha().post(`/v1/runs/${started.id}/cancel`), 200)
    expect(answered).toMatchObject({ id: started.id, status: 'cancelled' })
    expect(answered.finishedAt).toBeTruthy()
    expect(await waitUntilGone(() => processesInGroup(pid!))).toEqual([])
  })
})
