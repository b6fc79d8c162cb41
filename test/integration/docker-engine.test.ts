import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findOnPath } from '../../src/agents/codex-binary.js'
import type { Run } from '../../src/protocol/runs.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { expectCancelStopsContainer, openUp, startContainerGateway } from '../support/container-gateway.js'
import { engineEnv, testEngine } from '../support/container-image.js'
import { gatewayContainers } from '../support/containers.js'
import { gatewayModules, postJson } from '../support/gateway.js'
import { tempDir } from '../support/temp.js'

type Gateway = Awaited<ReturnType<typeof startContainerGateway>>

/** The real docker CLI, if this machine has one (there is no Docker engine: podman serves its API). */
const docker = findOnPath('docker')

gatewayModules()

/**
 * CONTAINER_ENGINE=docker, the seed's default: the real docker CLI drives the containers, against podman's
 * Docker-compatible API on a unix socket (DOCKER_HOST). Skipped only where no docker CLI is installed.
 */
describe.skipIf(!docker)('CONTAINER_ENGINE=docker (the docker CLI against podman’s Docker API)', () => {
  let service: ChildProcess
  let mock: MockLlm
  let gw: Gateway

  beforeAll(async () => {
    const socket = path.join(tempDir('docker-api-'), 'podman.sock')
    service = spawn(testEngine, ['system', 'service', '--time=0', `unix://${socket}`], {
      env: engineEnv(),
      stdio: 'ignore',
    })
    const dockerEnv = { ...engineEnv(), DOCKER_HOST: `unix://${socket}` }
    await until(
      () =>
        existsSync(socket) &&
        spawnSync(docker as string, ['version', '--format', '{{.Server.Version}}'], { env: dockerEnv })
          .status === 0,
    )
    mock = await startMockLlm()
    gw = await startContainerGateway(mock, {
      CONTAINER_ENGINE: 'docker',
      CLI_LIST: 'sh',
      DOCKER_HOST: dockerEnv.DOCKER_HOST,
      // podman's Docker API ignores containers.conf's default_ulimits; this VM cannot grant podman's own
      CONTAINER_ULIMITS: 'nofile=1024:20000,nproc=1000:1000',
    })
  }, 120_000)

  afterAll(async () => {
    await gw?.close()
    await mock?.close()
    if (gw) expect(await gatewayContainers(gw.instance)).toEqual([])
    if (service && service.exitCode === null) {
      const exited = new Promise((resolve) => service.once('exit', resolve))
      service.kill('SIGTERM')
      await exited
    }
  })

  it('/health reports the docker engine, its version and the limits', async () => {
    type Health = { containers: Record<string, unknown> }
    const read = async () => (await (await fetch(`${gw.url}/health`)).json()) as Health
    // an engine that did not answer within its 10 s (a loaded machine) is asked again 5 s later
    // (container-describe.test.ts): followed until it answers, for at most 40 s
    let health = await read()
    for (const deadline = Date.now() + 40_000; health.containers.available === false; health = await read()) {
      if (Date.now() > deadline) break
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    expect(health.containers).toMatchObject({
      kind: 'container',
      engine: 'docker',
      available: true,
      limits: { network: 'host', ulimits: ['nofile=1024:20000', 'nproc=1000:1000'] },
    })
    // the docker client's version, not podman's
    expect(health.containers.version).toMatch(/^\d+\.\d+/)
    expect(health.containers.version).not.toBe(
      spawnSync(testEngine, ['version', '--format', '{{.Client.Version}}'], {
        env: engineEnv(),
        encoding: 'utf8',
      }).stdout.trim(),
    )
  })

  it('codex runs in a container started by docker; its command runs there; nothing is left', async () => {
    mock.script(
      { kind: 'exec_command', cmd: 'hostname > docker-host.txt' },
      { kind: 'text', text: 'codex via docker' },
    )
    const res = await postJson(`${gw.url}/v1/runs?wait=true`, {
      agent: 'codex',
      prompt: 'where are you?',
      isolation: 'container',
      sandbox: 'workspace-write',
    })
    const run = (await res.json()) as Run & { error: string | null }
    expect(run.status, run.error ?? '').toBe('succeeded')
    expect(run.finalResponse).toBe('codex via docker')
    expect(readFileSync(path.join(gw.workspace, 'docker-host.txt'), 'utf8').trim()).toMatch(
      new RegExp(`^agw-${gw.instance}-`),
    )
    // docker's --rm is the daemon's job, which podman's API does not do: the runner removes it
    expect(await gatewayContainers(gw.instance)).toEqual([])
  })

  it('docker mounts a cwd whose name holds `:` and `=`', async () => {
    const name = 'a:b=c'
    const dir = path.join(gw.workspace, name)
    mkdirSync(dir)
    writeFileSync(path.join(dir, 'given.txt'), 'given\n')
    openUp(dir)
    const res = await postJson(`${gw.url}/v1/runs?wait=true`, {
      agent: 'cli',
      isolation: 'container',
      cwd: name,
      command: { cli: 'sh', args: ['-c', 'pwd > seen.txt; cat given.txt >> seen.txt'] },
    })
    const run = (await res.json()) as Run & { error: string | null }
    expect(run.status, run.error ?? '').toBe('succeeded')
    expect(readFileSync(path.join(dir, 'seen.txt'), 'utf8')).toBe(`${dir}\ngiven\n`)
  })

  it('cancel stops the container through docker', async () => {
    await expectCancelStopsContainer(gw, {
      agent: 'cli',
      isolation: 'container',
      command: { cli: 'sh', args: ['-c', 'exec sleep 3600'] },
    })
  })
})

async function until(done: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!done()) {
    if (Date.now() > deadline) throw new Error('the podman API service did not come up')
    await new Promise((r) => setTimeout(r, 100))
  }
}
