/**
 * One-shot ACP runs on a kept-ready agent process vs a process per run (`npx tsx bench/acp-warm-runs.ts`).
 *
 * Starts the mock model (text answer, no delay) and two gateways in this process, configured like the
 * integration tests: `warm` (ACP_WARM_RUNS=true, the default: a session opened ahead of time on an initialized
 * agent process, so a run sends only `session/prompt`) and `cold` (ACP_WARM_RUNS=false: every run starts,
 * initializes and ends its own agent process). Then, interleaved per iteration with the order alternating:
 * - `POST /v1/runs?wait=true {agent, prompt}` on each gateway until the finished run's JSON is read;
 * - a cold direct run of the same ACP agent, no gateway code (bench/acp-direct.ts): spawn it with the argv
 *   and env the gateway would use, `initialize`, `session/new`, `session/prompt`, end it: the fair "direct"
 *   baseline for an ACP agent;
 * - a warm direct run: one agent process the bench keeps, `session/new` + `session/prompt` + `session/close`
 *   per run: what the gateway's warm path adds over driving a kept agent yourself;
 * - a cold direct `codex exec` of the same prompt (the codex-exec driver's argv and env, less the system CA
 *   bundle the gateway names for the codex it spawns: codex as a user runs it), the yardstick of issue 14
 *   target 1.
 * Prints medians, p90 and the ratios. Not a test: exits 0 when every run gave the mock's answer, 1 otherwise.
 * Traffic only to 127.0.0.1; temp dirs removed.
 *
 * Usage: npx tsx bench/acp-warm-runs.ts [--iterations N] [--warmup N]   (acp:codex-acp)
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { acpPreset } from '../src/agents/acp/agent-spec.js'
import { type AcpLaunch, acpLaunch } from '../src/agents/acp/launch.js'
import type { CodexExecDriver } from '../src/agents/codex/exec-driver.js'
import { loadConfig } from '../src/config/load.js'
import { type RunningServer, startServer } from '../src/http/server.js'
import { startMockLlm } from '../test/mock-llm/index.js'
import { gatewayEnv } from '../test/support/gateway.js'
import { DirectAcpAgent } from './acp-direct.js'
import { printMachine } from './machine.js'
import { BenchError, intOption } from './options.js'
import { interleaved, median, timingTable } from './stats.js'

const answer = 'ok'
const prompt = 'Say ok.'
const { values } = parseArgs({
  options: {
    iterations: { type: 'string' },
    warmup: { type: 'string' },
  },
})
const agent = 'acp:codex-acp'
const iterations = intOption(values.iterations, 21, 'iterations')
const warmup = intOption(values.warmup, 2, 'warmup', 0)

async function gatewayRun(server: RunningServer): Promise<number> {
  const t0 = performance.now()
  const res = await fetch(`${server.url}/v1/runs?wait=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ agent, prompt }),
    signal: AbortSignal.timeout(60_000),
  })
  const run = (await res.json()) as { status?: string; finalResponse?: string }
  const ms = performance.now() - t0
  if (res.status !== 200 || run.status !== 'succeeded' || run.finalResponse?.trim() !== answer)
    throw new BenchError(`${agent}: HTTP ${res.status}: ${JSON.stringify(run)}`)
  return ms
}

async function directExec(server: RunningServer, cwd: string): Promise<number> {
  const exec = server.ctx.registry.get('codex-exec') as CodexExecDriver
  if (!exec.binary) throw new BenchError('codex is not installed')
  const t0 = performance.now()
  const child = spawn(exec.binary, exec.buildArgs({ prompt, cwd }), {
    cwd,
    env: exec.childEnv(),
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  child.stdin.end(prompt)
  let out = ''
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stderr.resume()
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  const ms = performance.now() - t0
  if (code !== 0 || !out.includes(answer)) throw new BenchError(`codex exec: exit ${code}\n${out}`)
  return ms
}

async function directAcpCold(launch: AcpLaunch): Promise<number> {
  const t0 = performance.now()
  const direct = new DirectAcpAgent(launch)
  try {
    await direct.initialize()
    const { text } = await direct.oneTurn(launch.cwd, prompt)
    const ms = performance.now() - t0
    if (text.trim() !== answer) throw new BenchError(`direct ACP: answered ${JSON.stringify(text)}`)
    return ms
  } finally {
    await direct.kill()
  }
}

async function directAcpWarm(kept: DirectAcpAgent, cwd: string): Promise<number> {
  const t0 = performance.now()
  const { sessionId, text } = await kept.oneTurn(cwd, prompt)
  const ms = performance.now() - t0
  await kept.request('session/close', { sessionId })
  if (text.trim() !== answer) throw new BenchError(`direct warm ACP: answered ${JSON.stringify(text)}`)
  return ms
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'agw-bench-acp-warm-'))
process.env.AGW_TEST_TMP = tmp
const mock = await startMockLlm()
mock.setDefault({ kind: 'text', text: answer })
const servers: RunningServer[] = []
let kept: DirectAcpAgent | undefined
let failed = false
try {
  const make = async (overrides: Record<string, string>) => {
    const { env, dir, workspace } = gatewayEnv(mock, overrides)
    const server = await startServer({ env, cwd: dir, logger: false })
    servers.push(server)
    return { server, workspace }
  }
  const warm = await make({})
  const cold = await make({ ACP_WARM_RUNS: 'false' })
  const { env, dir, workspace } = gatewayEnv(mock, {})
  const preset = acpPreset('codex-acp')
  if (!preset.command) throw new BenchError('codex-acp is not installed')
  // the argv and env the gateway gives a one-shot codex-acp run (approval policy never), its cwd the workspace
  const launch = acpLaunch({ ...preset, command: preset.command }, loadConfig(env, dir), env, {
    cwd: workspace,
    approvalPolicy: 'never',
  })
  kept = new DirectAcpAgent(launch)
  await kept.initialize()
  const direct = kept
  console.log(`one-shot ${agent} runs: the gateway (warm, cold) vs the agent driven directly (cold, warm)`)
  printMachine()
  const times = await interleaved(
    [
      ['warm', () => gatewayRun(warm.server)],
      ['cold', () => gatewayRun(cold.server)],
      ['acpCold', () => directAcpCold(launch)],
      ['acpWarm', () => directAcpWarm(direct, workspace)],
      ['exec', () => directExec(warm.server, warm.workspace)],
    ] as const,
    warmup,
    iterations,
  )
  console.log(
    `load at the end: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  )
  console.log(
    timingTable([
      [`${agent} warm (POST /v1/runs?wait=true)`, times.warm],
      [`${agent} cold (ACP_WARM_RUNS=false)`, times.cold],
      ['direct cold codex-acp (spawn, initialize, session/new, prompt)', times.acpCold],
      ['direct warm codex-acp (kept process: session/new, prompt)', times.acpWarm],
      ['direct cold `codex exec`', times.exec],
    ]),
  )
  const ratio = (a: number[], b: number[]) => (median(a) / median(b)).toFixed(3)
  console.log(
    `ratios of medians (${iterations} iterations): warm/direct exec ${ratio(times.warm, times.exec)}, ` +
      `warm/direct cold ACP ${ratio(times.warm, times.acpCold)}, warm/cold ${ratio(times.warm, times.cold)}, ` +
      `warm/direct warm ACP ${ratio(times.warm, times.acpWarm)}, cold/direct cold ACP ${ratio(times.cold, times.acpCold)}, ` +
      `direct cold ACP/direct exec ${ratio(times.acpCold, times.exec)}`,
  )
} catch (err) {
  failed = true
  console.error(String(err))
} finally {
  await kept?.kill()
  for (const s of servers) await s.close()
  await mock.close()
  rmSync(tmp, { recursive: true, force: true })
}
process.exit(failed ? 1 : 0)
