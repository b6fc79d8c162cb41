/**
 * One-shot prompts: `opencode serve` (a peer that keeps its agent warm) vs the gateway, on the same mock model
 * (`OPENCODE_BIN=/path/to/opencode npx tsx bench/peer-opencode.ts`).
 *
 * opencode is not a dependency of this project: install it anywhere outside the repo (`npm install opencode-ai`
 * in a scratch directory; its platform binary is node_modules/opencode-linux-x64/bin/opencode) and name the
 * binary in OPENCODE_BIN. Without it the bench says so and exits 0.
 *
 * Starts the mock model (text answer, no delay), one gateway (defaults: warm codex runs on the app-server, warm
 * ACP runs) and `opencode serve` on 127.0.0.1 with the mock as an OpenAI-compatible custom provider (its config in
 * OPENCODE_CONFIG_CONTENT, its home in a temp dir, autoupdate, model fetching and default plugins off). Then, interleaved per
 * iteration with the order alternating: opencode's one-shot prompt (`POST /session`, then
 * `POST /session/:id/message` until the answer is read; opencode also asks the model for a session title, as it
 * does for every new session) and the gateway's `POST /v1/runs?wait=true` for `codex` and `acp:codex-acp`.
 * Prints medians and the ratios gateway/opencode. Not a test: exits 1 when a run did not give the mock's answer.
 *
 * Usage: OPENCODE_BIN=... npx tsx bench/peer-opencode.ts [--iterations N] [--warmup N]
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { type RunningServer, startServer } from '../src/http/server.js'
import { startMockLlm } from '../test/mock-llm/index.js'
import { gatewayEnv, testModel } from '../test/support/gateway.js'
import { loadLine, printMachine } from './machine.js'
import { gatewayRunAnswers } from './one-shot-runs.js'
import { BenchError, benchArgs, intOption } from './options.js'
import { interleaved, median, timingTable } from './stats.js'

const answer = 'ok'
const prompt = 'Say ok.'
const { values } = benchArgs({ options: { iterations: { type: 'string' }, warmup: { type: 'string' } } })
const iterations = intOption(values.iterations, 15, 'iterations')
const warmup = intOption(values.warmup, 2, 'warmup', 0)

const bin = process.env.OPENCODE_BIN
if (!bin) {
  console.log('OPENCODE_BIN is not set: opencode is not installed here, nothing to compare (see the header).')
  process.exit(0)
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (!address || typeof address === 'string') throw new BenchError('no free port')
  return address.port
}

/** `opencode serve` on a free port with the mock as its only provider; resolves once it answers HTTP. */
async function startOpencode(baseUrl: string, dir: string): Promise<{ url: string }> {
  const home = path.join(dir, 'home')
  const workspace = path.join(dir, 'workspace')
  mkdirSync(workspace, { recursive: true })
  const config = {
    $schema: 'https://opencode.ai/config.json',
    autoupdate: false,
    share: 'disabled',
    model: `mock/${testModel}`,
    provider: {
      mock: {
        npm: '@ai-sdk/openai-compatible',
        name: 'mock',
        options: { baseURL: baseUrl, apiKey: 'sk-test' },
        models: { [testModel]: { name: testModel } },
      },
    },
  }
  const port = await freePort()
  const child = spawn(bin as string, ['serve', '--port', String(port), '--hostname', '127.0.0.1'], {
    cwd: workspace,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      XDG_CONFIG_HOME: path.join(home, '.config'),
      XDG_DATA_HOME: path.join(home, '.local', 'share'),
      XDG_CACHE_HOME: path.join(home, '.cache'),
      XDG_STATE_HOME: path.join(home, '.local', 'state'),
      OPENCODE_CONFIG_CONTENT: JSON.stringify(config),
      OPENCODE_DISABLE_AUTOUPDATE: '1',
      OPENCODE_DISABLE_MODELS_FETCH: '1',
      OPENCODE_DISABLE_LSP_DOWNLOAD: '1',
      // its default plugins are npm packages it would install at start
      OPENCODE_DISABLE_DEFAULT_PLUGINS: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  opencode = child
  child.stdout?.resume()
  child.stderr?.resume()
  const url = `http://127.0.0.1:${port}`
  // its first answer waits for its start-up work (a fresh data dir, the project): minutes on a loaded machine
  const deadline = Date.now() + 180_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new BenchError(`opencode serve exited (${child.exitCode})`)
    const up = await fetch(`${url}/session`, { signal: AbortSignal.timeout(170_000) }).then(
      (r) => r.ok,
      () => false,
    )
    if (up) return { url }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new BenchError('opencode serve did not answer within 180 s')
}

async function opencodePrompt(url: string): Promise<number> {
  const t0 = performance.now()
  const json = { 'content-type': 'application/json' }
  const session = (await (
    await fetch(`${url}/session`, { method: 'POST', headers: json, body: '{}' })
  ).json()) as {
    id: string
  }
  const res = await fetch(`${url}/session/${session.id}/message`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({
      model: { providerID: 'mock', modelID: testModel },
      parts: [{ type: 'text', text: prompt }],
    }),
    signal: AbortSignal.timeout(60_000),
  })
  const body = (await res.json()) as { parts?: { type: string; text?: string }[] }
  const ms = performance.now() - t0
  const text = (body.parts ?? []).filter((p) => p.type === 'text').map((p) => p.text ?? '')
  if (res.status !== 200 || text.join('').trim() !== answer)
    throw new BenchError(`opencode: HTTP ${res.status}: ${JSON.stringify(body).slice(0, 500)}`)
  return ms
}

async function gatewayRun(server: RunningServer, agent: string): Promise<number> {
  const t0 = performance.now()
  await gatewayRunAnswers(server, agent, prompt, answer)
  return performance.now() - t0
}

let opencode: ChildProcess | undefined
const tmp = mkdtempSync(path.join(os.tmpdir(), 'agw-bench-opencode-'))
process.env.AGW_TEST_TMP = tmp
const mock = await startMockLlm()
mock.setDefault({ kind: 'text', text: answer })
let server: RunningServer | undefined
let failed = false
try {
  const { env, dir } = gatewayEnv(mock, {})
  server = await startServer({ env, cwd: dir, logger: false })
  const gateway = server
  const t0 = performance.now()
  const started = await startOpencode(mock.baseUrl, tmp)
  console.log(`opencode serve answered after ${(performance.now() - t0).toFixed(0)} ms`)
  console.log(`one-shot prompts: opencode serve (${bin}) vs the gateway, the same mock model`)
  printMachine()
  const times = await interleaved(
    [
      ['opencode', () => opencodePrompt(started.url)],
      ['codex', () => gatewayRun(gateway, 'codex')],
      ['acp', () => gatewayRun(gateway, 'acp:codex-acp')],
    ] as const,
    warmup,
    iterations,
  )
  console.log(loadLine('at the end'))
  console.log(
    timingTable([
      ['opencode serve: POST /session + POST /session/:id/message', times.opencode],
      ['gateway codex: POST /v1/runs?wait=true', times.codex],
      ['gateway acp:codex-acp: POST /v1/runs?wait=true', times.acp],
    ]),
  )
  const ratio = (a: number[]) => (median(a) / median(times.opencode)).toFixed(3)
  console.log(
    `ratios of medians (${iterations} iterations): gateway codex/opencode ${ratio(times.codex)}, ` +
      `gateway acp:codex-acp/opencode ${ratio(times.acp)} (below 1: the gateway answers sooner)`,
  )
} catch (err) {
  failed = true
  console.error(String(err))
} finally {
  if (opencode?.pid && opencode.exitCode === null) {
    const exited = new Promise((resolve) => opencode?.once('exit', resolve))
    try {
      process.kill(-opencode.pid, 'SIGTERM')
    } catch {}
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))])
    try {
      process.kill(-opencode.pid, 'SIGKILL')
    } catch {}
  }
  await server?.close()
  await mock.close()
  rmSync(tmp, { recursive: true, force: true })
}
process.exit(failed ? 1 : 0)
