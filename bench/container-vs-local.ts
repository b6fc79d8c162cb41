/**
 * Container one-shot vs local one-shot: the same `codex exec` run against the mock model, through the same
 * driver, once as a local process group and once in a fresh podman container (`isolation: "container"`).
 * Prints medians side by side, their ratio, and the bare start overhead of the engine (`true` in the image).
 * Run by hand, never with the test suite: `npx tsx bench/container-vs-local.ts --runs 10`.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { CodexExecDriver } from '../src/agents/codex/exec-driver.js'
import { loadConfig } from '../src/config/load.js'
import { createRunner } from '../src/core/runners.js'
import type { AgentEvent } from '../src/protocol/events.js'
import { startMockLlm } from '../test/mock-llm/index.js'
import { containersConf, ensureTestImage } from '../test/support/container-image.js'
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
    // a CODEX_HOME of its own for the local runs: files codex writes there as root would be read-only to the
    // container's user
    const localHome = path.join(root, 'codex-home-local')
    mkdirSync(localHome)
    const localConfig = loadConfig({ ...env, CODEX_HOME: localHome }, dir)
    const drivers = {
      process: new CodexExecDriver(localConfig, env, runner),
      container: new CodexExecDriver(config, env, runner),
    }
    const once = async (isolation: 'process' | 'container') => {
      mock.script({ kind: 'text', text: 'bench answer' })
      const started = performance.now()
      let last: AgentEvent | undefined
      const run = drivers[isolation].run(
        { prompt: 'bench', cwd: dir, isolation },
        new AbortController().signal,
      )
      for await (const ev of run) last = ev
      const ms = performance.now() - started
      if (last?.type !== 'run.completed' || last.status !== 'succeeded')
        throw new BenchError(`a ${isolation} run did not succeed: ${JSON.stringify(last)}`)
      return ms
    }
    const bare = async () => {
      const started = performance.now()
      const proc = runner.start({
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
    const local: number[] = []
    const container: number[] = []
    const starts: number[] = []
    for (let i = 0; i < runs; i++) {
      local.push(await once('process'))
      container.push(await once('container'))
      starts.push(await bare())
    }
    const fmt = (v: number) => `${v.toFixed(0)} ms`
    console.log(`codex exec one-shot, ${runs} runs each (interleaved), median (p90):`)
    console.log(`  local process group   ${fmt(median(local))} (${fmt(percentile(local, 90))})`)
    console.log(`  podman container      ${fmt(median(container))} (${fmt(percentile(container, 90))})`)
    console.log(`  ratio container/local ${(median(container) / median(local)).toFixed(2)}x`)
    console.log(`  added per run         ${fmt(median(container) - median(local))}`)
    console.log(`  engine start overhead ${fmt(median(starts))} (\`true\` in the image, run to removal)`)
  } finally {
    await mock.close()
    rmSync(root, { recursive: true, force: true })
  }
}

main().catch((err) => {
  console.error(err instanceof BenchError ? err.message : err)
  process.exit(err instanceof BenchError ? 2 : 1)
})
