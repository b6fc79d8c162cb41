import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { acpPreset } from '../src/agents/acp/agent-spec.js'
import { type AcpLaunch, acpLaunch } from '../src/agents/acp/launch.js'
import { loadConfig } from '../src/config/load.js'
import { type RunningServer, startServer } from '../src/http/server.js'
import { startMockLlm } from '../test/mock-llm/index.js'
import { gatewayEnv } from '../test/support/gateway.js'
import { DirectAcpAgent } from './acp-direct.js'
import { loadLine, printMachine } from './machine.js'
import { directCodexExec, gatewayRunAnswers } from './one-shot-runs.js'
import { BenchError, benchArgs, intOption } from './options.js'
import { interleaved, median, timingTable } from './stats.js'

const answer = 'ok'
const prompt = 'Say ok.'
const { values } = benchArgs({
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
  await gatewayRunAnswers(server, agent, prompt, answer)
  return performance.now() - t0
}

async function directExec(server: RunningServer, cwd: string): Promise<number> {
  const t0 = performance.now()
  await directCodexExec(server, cwd, prompt, answer)
  return performance.now() - t0
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
  console.log(loadLine('at the end'))
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
