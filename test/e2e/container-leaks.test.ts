import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Run } from '../../src/protocol/runs.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { containerSettings, openUp } from '../support/container-gateway.js'
import { gatewayContainers, removeContainers, testInstance } from '../support/containers.js'
import { gatewayEnv, postJson } from '../support/gateway.js'
import { killAll, listProcesses, processesUnder, waitUntilGone } from '../support/processes.js'
import { type ServerProcess, startServerProcess } from '../support/server-process.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

/** Processes of the container machinery for an instance: `podman run` clients and conmon (both name it). */
const engineProcesses = (instance: string) =>
  listProcesses().filter((p) => p.cmd.includes(`agw-${instance}-`) && !p.cmd.includes('vitest'))

/**
 * A gateway process (`agent-gateway serve`) with container runs in flight, stopped with SIGTERM or killed
 * with SIGKILL: afterwards no container of the gateway and no process of it remains (after kill -9, once
 * the next gateway on the same instance started and removed what its predecessor left).
 */
describe('container runs across gateway stops and crashes (real podman, real server processes)', () => {
  let mock: MockLlm
  const servers: ServerProcess[] = []
  const instances: string[] = []
  const workspaces: string[] = []

  beforeAll(async () => {
    mock = await startMockLlm()
  })
  afterEach(async () => {
    for (const s of servers.splice(0))
      if (s.child.exitCode === null && s.child.signalCode === null) await s.stop('SIGKILL')
    for (const instance of instances.splice(0)) await removeContainers(await gatewayContainers(instance))
    for (const w of workspaces.splice(0)) killAll(await waitUntilGone(() => processesUnder(w), 5000))
  })
  afterAll(async () => {
    await mock?.close()
  })

  function setup() {
    const instance = testInstance()
    const { env, dir, workspace } = gatewayEnv(mock, {
      ...containerSettings(instance),
      CLI_LIST: 'sh',
      SHUTDOWN_GRACE_SECONDS: '1',
    })
    openUp(workspace)
    instances.push(instance)
    workspaces.push(workspace)
    return { instance, env, dir, workspace }
  }

  async function start(env: Record<string, string | undefined>, dir: string): Promise<ServerProcess> {
    const s = await startServerProcess(env, dir)
    if (!('url' in s)) throw new Error(`server exited (${s.exitCode}):\n${s.output.join('\n')}`)
    servers.push(s)
    return s
  }

  /** Two container runs that would sleep for an hour, both running (their containers exist). */
  async function twoLongRuns(url: string, instance: string): Promise<Run[]> {
    const runs: Run[] = []
    for (let i = 0; i < 2; i++) {
      const res = await postJson(`${url}/v1/runs`, {
        agent: 'cli',
        isolation: 'container',
        command: { cli: 'sh', args: ['-c', 'echo started; exec sleep 3600'] },
      })
      expect(res.status).toBe(202)
      runs.push((await res.json()) as Run)
    }
    await waitFor(async () => (await gatewayContainers(instance)).length === 2, 'two running containers')
    return runs
  }

  it('SIGTERM: the gateway stops its containers through the engine before it exits', async () => {
    const { instance, env, dir, workspace } = setup()
    const server = await start(env, dir)
    const runs = await twoLongRuns(server.url, instance)
    expect(await server.stop('SIGTERM')).toBe(0)
    expect(await gatewayContainers(instance)).toEqual([])
    expect(await waitUntilGone(() => engineProcesses(instance), 5000)).toEqual([])
    expect(processesUnder(workspace)).toEqual([])
    // the runs were ended by the shutdown, and say so after a restart
    const next = await start(env, dir)
    for (const run of runs) {
      const after = (await (await fetch(`${next.url}/v1/runs/${run.id}`)).json()) as Run
      expect(after).toMatchObject({ status: 'interrupted', reason: 'shutdown' })
    }
  })

  it('kill -9: the next gateway on the same instance removes the containers its predecessor left', async () => {
    const { instance, env, dir, workspace } = setup()
    const crashed = await start(env, dir)
    const runs = await twoLongRuns(crashed.url, instance)
    await crashed.stop('SIGKILL')
    // nothing stopped them: the containers (and their engine clients) outlive the killed gateway
    expect(await gatewayContainers(instance)).toHaveLength(2)
    const next = await start(env, dir)
    expect(await gatewayContainers(instance)).toEqual([])
    expect(await waitUntilGone(() => engineProcesses(instance), 10_000)).toEqual([])
    expect(await waitUntilGone(() => processesUnder(workspace), 5000)).toEqual([])
    // the runs the crash cut short are recorded as interrupted by the next gateway
    for (const run of runs) {
      const after = (await (await fetch(`${next.url}/v1/runs/${run.id}`)).json()) as Run
      expect(after.status).toBe('interrupted')
    }
  })
})
