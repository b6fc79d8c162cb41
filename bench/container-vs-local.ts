/**
 * Container one-shot vs local one-shot: the same `codex exec` run against the mock model, through the same
 * driver, once as a local process group and once in a fresh podman container (`isolation: "container"`),
 * and, where a docker CLI exists, once more through `docker` against podman's Docker API (CONTAINER_ENGINE=
 * docker). Prints medians side by side, the ratios, and the bare start overhead of each engine (`true` in
 * the image). Run by hand, never with the test suite: `npx tsx bench/container-vs-local.ts --runs 10`.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { findOnPath } from '../src/agents/cli-binary.js'
import { CodexExecDriver } from '../src/agents/codex/exec-driver.js'
import { loadConfig } from '../src/config/load.js'
import { createRunner } from '../src/core/runners.js'
import type { AgentEvent } from '../src/protocol/events.js'
import { startMockLlm } from '../test/mock-llm/index.js'
import { containersConf, engineEnv, ensureTestImage } from '../test/support/container-image.js'
import { BenchError, intOption } from './options.js'
import { median, percentile } from './stats.js'

async function main() {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`)
    return i >= 0 ? process.argv[i + 1] : undefined
  }
  const runs = intOption(arg('runs'), 8, 'runs')
  process.env.CONTAINERS_CONF ??= containersConf
  const image = ensureTestImage()
  const mock = await startMockLlm()
  const root = mkdtempSync(path.join(os.tmpdir(), 'agw-bench-containers-'))
  const dir = path.join(root, 'workspace')
  const codexHome = path.join(root, 'codex-home')
  for (const d of [root, dir, codexHome]) {
    mkdirSync(d, { recursive: true })
    chmodSync(d, 0o777)
  }
  writeFileSync(path.join(codexHome, 'config.toml'), '[analytics]\nenabled = false\n')
  const docker = findOnPath('docker')
  const socket = path.join(root, 'podman.sock')
  const service: ChildProcess | undefined = docker
    ? spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], {
        env: engineEnv(),
        stdio: 'ignore',
      })
    : undefined
  // the container's user (1000) writes codex's state next to it
  chmodSync(path.join(codexHome, 'config.toml'), 0o666)
  try {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      CONTAINERS_CONF: process.env.CONTAINERS_CONF,
      DATA_DIR: path.join(root, 'data'),
      WORKSPACE_DIR: dir,
      CODEX_HOME: codexHome,
      CODEX_API_BASE_URL: mock.baseUrl,
      CODEX_API_KEY: 'sk-bench',
      CODEX_MODEL: 'gpt-5.5',
      CODEX_MAX_RETRIES: '0',
      CONTAINER_ENGINE: 'podman',
      CONTAINER_NETWORK: 'host',
      CONTAINER_IMAGE: image,
      CONTAINER_USER: '1000:1000',
      GATEWAY_INSTANCE: `bench-${process.pid}`,
    }
    const config = loadConfig(env, dir)
    const runner = createRunner(config, env)
    // the docker CLI against podman's Docker API (its ulimits: the API ignores containers.conf)
    const dockerEnv: NodeJS.ProcessEnv = {
      ...env,
      CONTAINER_ENGINE: 'docker',
      DOCKER_HOST: `unix://${socket}`,
      CONTAINER_ULIMITS: 'nofile=1024:20000,nproc=1000:1000',
    }
    if (docker) await serviceUp(docker, dockerEnv)
    const dockerRunner = docker ? createRunner(loadConfig(dockerEnv, dir), dockerEnv) : undefined
    // a CODEX_HOME of its own for the local runs: files codex writes there as root would be read-only to the
    // container's user
    const localHome = path.join(root, 'codex-home-local')
    mkdirSync(localHome)
    const localConfig = loadConfig({ ...env, CODEX_HOME: localHome }, dir)
    const drivers = {
      process: new CodexExecDriver(localConfig, env, runner),
      container: new CodexExecDriver(config, env, runner),
      docker: dockerRunner ? new CodexExecDriver(config, env, dockerRunner) : undefined,
    }
    const once = async (kind: 'process' | 'container' | 'docker') => {
      const driver = drivers[kind]
      if (!driver) throw new BenchError(`no ${kind} driver`)
      mock.script({ kind: 'text', text: 'bench answer' })
      const started = performance.now()
      let last: AgentEvent | undefined
      const isolation = kind === 'process' ? 'process' : 'container'
      const run = driver.run({ prompt: 'bench', cwd: dir, isolation }, new AbortController().signal)
      for await (const ev of run) last = ev
      const ms = performance.now() - started
      if (last?.type !== 'run.completed' || last.status !== 'succeeded')
        throw new BenchError(`a ${kind} run did not succeed: ${JSON.stringify(last)}`)
      return ms
    }
    const bare = async (on = runner) => {
      const started = performance.now()
      const proc = on.start({
        command: 'true',
        args: [],
        cwd: dir,
        env: {},
        killGraceMs: 1000,
        isolation: 'container',
      })
      proc.stdout.resume()
      proc.stderr.resume()
      await proc.done
      return performance.now() - started
    }
    await once('process')
    await once('container')
    if (dockerRunner) await once('docker')
    const local: number[] = []
    const container: number[] = []
    const viaDocker: number[] = []
    const starts: number[] = []
    const dockerStarts: number[] = []
    for (let i = 0; i < runs; i++) {
      local.push(await once('process'))
      container.push(await once('container'))
      starts.push(await bare())
      if (dockerRunner) {
        viaDocker.push(await once('docker'))
        dockerStarts.push(await bare(dockerRunner))
      }
    }
    const fmt = (v: number) => `${v.toFixed(0)} ms`
    const row = (label: string, v: number[]) =>
      console.log(`  ${label.padEnd(30)}${fmt(median(v))} (${fmt(percentile(v, 90))})`)
    console.log(`codex exec one-shot, ${runs} runs each (interleaved), median (p90):`)
    row('local process group', local)
    row('podman container', container)
    if (viaDocker.length) row('docker CLI -> podman API', viaDocker)
    console.log(`  ratio podman/local            ${(median(container) / median(local)).toFixed(2)}x`)
    if (viaDocker.length)
      console.log(`  ratio docker/local            ${(median(viaDocker) / median(local)).toFixed(2)}x`)
    console.log(`  added per run (podman)        ${fmt(median(container) - median(local))}`)
    console.log(
      `  start overhead podman         ${fmt(median(starts))} (\`true\` in the image, run to removal)`,
    )
    if (dockerStarts.length) console.log(`  start overhead docker         ${fmt(median(dockerStarts))}`)
  } finally {
    await mock.close()
    if (service && service.exitCode === null) {
      const exited = new Promise((resolve) => service.once('exit', resolve))
      service.kill('SIGTERM')
      await exited
    }
    rmSync(root, { recursive: true, force: true })
  }
}

/** Waits until podman's Docker API answers the docker CLI. */
async function serviceUp(docker: string, env: NodeJS.ProcessEnv): Promise<void> {
  const socket = (env.DOCKER_HOST ?? '').replace('unix://', '')
  const deadline = Date.now() + 30_000
  while (!(existsSync(socket) && spawnSync(docker, ['version'], { env, stdio: 'ignore' }).status === 0)) {
    if (Date.now() > deadline) throw new BenchError('podman system service did not come up')
    await new Promise((r) => setTimeout(r, 100))
  }
}

main().catch((err) => {
  console.error(err instanceof BenchError ? err.message : err)
  process.exit(err instanceof BenchError ? 2 : 1)
})
