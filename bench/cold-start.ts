/**
 * Cold start per agent: one one-shot run with a trivial prompt and an instant mock text answer, through the
 * gateway (POST /v1/runs?wait=true {agent, prompt}) vs the same CLI spawned directly with the argv and env
 * its driver builds (stdout read to the end), interleaved per iteration.
 *
 * Agents: codex-exec, claude, gemini, copilot (direct and gateway); acp:codex-acp through the gateway only
 * (a direct run would need an ACP client: initialize, session/new, session/prompt).
 *
 * Usage: npx tsx bench/cold-start.ts [--iterations N] [--warmup N]   (defaults 8 and 1)
 * Not a test: exits 0 when every run produced the expected answer, 1 otherwise (after cleaning up).
 */
import { realpathSync } from 'node:fs'
import type { ClaudeDriver } from '../src/agents/claude/driver.js'
import type { CodexExecDriver } from '../src/agents/codex/exec-driver.js'
import { copilotArgs } from '../src/agents/copilot/args.js'
import type { CopilotDriver } from '../src/agents/copilot/driver.js'
import type { GeminiDriver } from '../src/agents/gemini/driver.js'
import { ensureGeminiSettings } from '../src/agents/gemini/home.js'
import { type RunningServer, startServer } from '../src/http/server.js'
import { type MockLlm, startMockLlm } from '../test/mock-llm/index.js'
import { gatewayEnv, testApiKey, testModel } from '../test/support/gateway.js'
import { tempDir, testBase } from '../test/support/temp.js'
import { benchScope, runBench } from './bench-scope.js'
import { asUserRunsIt, spawnAndRead } from './direct-launch.js'
import { loadLine, machineLines } from './machine.js'
import { BenchError, benchArgs, intOption } from './options.js'
import { markdownTable, median } from './stats.js'

const answer = 'Hello from the cold-start mock.'
const prompt = 'Say hello.'
const opTimeoutMs = 120_000

/** How to spawn one agent directly: binary, argv, env and stdin, as its driver would. */
interface DirectCommand {
  binary: string
  args: string[]
  env: NodeJS.ProcessEnv
  stdin: string | null
}

interface Agent {
  id: string
  direct: (() => Promise<DirectCommand>) | null
}

function parseOptions(): { iterations: number; warmup: number } {
  const { values } = benchArgs({
    options: { iterations: { type: 'string', short: 'n' }, warmup: { type: 'string' } },
    strict: true,
  })
  const count = intOption
  return {
    iterations: count(values.iterations ?? process.env.BENCH_ITERATIONS, 8, 'iterations', 1),
    warmup: count(values.warmup, 1, 'warmup', 0),
  }
}

/** Runs the CLI directly (spawned as the gateway spawns it) and reads its stdout to the end. */
async function runDirect(id: string, cmd: DirectCommand, cwd: string): Promise<number> {
  const { totalMs, code, stdout, stderr } = await spawnAndRead({ ...cmd, cwd }, opTimeoutMs)
  if (code !== 0 || !stdout.includes(answer))
    throw new BenchError(
      `direct ${id}: exited ${code} without the expected answer\nstdout:\n${stdout}\nstderr:\n${stderr}`,
    )
  return totalMs
}

async function runGateway(id: string, server: RunningServer): Promise<number> {
  const body = JSON.stringify({ agent: id, prompt })
  const t0 = performance.now()
  const res = await fetch(`${server.url}/v1/runs?wait=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(opTimeoutMs),
  })
  const run = (await res.json()) as { status?: string; finalResponse?: string }
  const totalMs = performance.now() - t0
  if (res.status !== 200 || run.status !== 'succeeded' || run.finalResponse?.trim() !== answer)
    throw new BenchError(
      `gateway ${id}: HTTP ${res.status} without the expected answer: ${JSON.stringify(run)}`,
    )
  return totalMs
}

function agents(server: RunningServer, workspace: string): Agent[] {
  const registry = server.ctx.registry
  const codex = registry.get('codex-exec') as CodexExecDriver
  const claude = registry.get('claude') as ClaudeDriver
  const gemini = registry.get('gemini') as GeminiDriver
  const copilot = registry.get('copilot') as CopilotDriver
  const need = (binary: string | null, id: string) => {
    if (!binary) throw new BenchError(`${id} is not installed (npm ci installs the pinned CLIs)`)
    return binary
  }
  return [
    {
      id: 'codex-exec',
      direct: async () =>
        asUserRunsIt(server, {
          binary: need(codex.binary, 'codex'),
          args: codex.buildArgs({ prompt, cwd: workspace }),
          env: codex.childEnv(),
          stdin: prompt,
        }),
    },
    {
      id: 'claude',
      direct: async () =>
        asUserRunsIt(server, {
          binary: need(claude.binary, 'claude'),
          args: claude.buildArgs({}),
          env: claude.childEnv('read-only'),
          stdin: prompt,
        }),
    },
    {
      id: 'gemini',
      direct: async () => {
        // The driver writes its settings once before the first run; the direct run needs the same files.
        await ensureGeminiSettings(gemini.home)
        return asUserRunsIt(server, {
          binary: need(gemini.binary, 'gemini'),
          args: gemini.buildArgs({}),
          env: gemini.childEnv(),
          stdin: prompt,
        })
      },
    },
    {
      id: 'copilot',
      direct: async () =>
        asUserRunsIt(server, {
          binary: need(copilot.binary, 'copilot'),
          args: copilotArgs({ prompt, sandbox: copilot.sandbox() }),
          env: copilot.childEnv(),
          stdin: null,
        }),
    },
    { id: 'acp:codex-acp', direct: null },
  ]
}

async function main(): Promise<void> {
  const { iterations, warmup } = parseOptions()
  const scope = benchScope('agw-bench-')
  let mock: MockLlm | undefined
  let server: RunningServer | undefined
  try {
    mock = await startMockLlm()
    mock.setDefault({ kind: 'text', text: answer })
    // The env each agent needs against the mock, as in test/integration/ai-provider-agents.test.ts.
    const { env, dir, workspace } = gatewayEnv(mock, {
      ANTHROPIC_BASE_URL: mock.url,
      ANTHROPIC_API_KEY: testApiKey,
      CLAUDE_CODE_MAX_RETRIES: '0',
      GEMINI_API_KEY: testApiKey,
      GOOGLE_GEMINI_BASE_URL: mock.url,
      GEMINI_MODEL: 'gemini-2.5-flash',
      GEMINI_CLI_HOME: tempDir('gemini-home-'),
      TMPDIR: tempDir('gemini-tmp-'),
      COPILOT_PROVIDER_BASE_URL: mock.baseUrl,
      COPILOT_PROVIDER_API_KEY: testApiKey,
      COPILOT_MODEL: testModel,
      COPILOT_PKG_CACHE_HOME: `${testBase()}/copilot-pkg-cache`,
    })
    server = await startServer({ env, cwd: dir, logger: false })
    const cwd = realpathSync(workspace)
    const list = agents(server, cwd)
    const commands = new Map<string, DirectCommand>()
    for (const a of list) if (a.direct) commands.set(a.id, await a.direct())

    console.log('agent-gateway benchmark: cold start per agent, direct CLI vs POST /v1/runs?wait=true\n')
    console.log(machineLines(loadLine('at the start')).join('\n'))
    console.log(
      `runs:    ${warmup} warm-up round(s), then ${iterations} iterations per mode, interleaved direct, gateway\n`,
    )

    const samples = new Map(list.map((a) => [a.id, { direct: [] as number[], gateway: [] as number[] }]))
    for (const a of list) {
      const cmd = commands.get(a.id)
      const s = samples.get(a.id)!
      for (let i = 0; i < warmup + iterations; i++) {
        scope.checkStop()
        // Alternate which mode goes first, so neither always follows the other.
        const order = i % 2 === 0 ? (['direct', 'gateway'] as const) : (['gateway', 'direct'] as const)
        for (const mode of order) {
          if (mode === 'direct' && !cmd) continue
          const t = mode === 'direct' ? await runDirect(a.id, cmd!, cwd) : await runGateway(a.id, server)
          if (i >= warmup) s[mode].push(t)
        }
        if (process.stderr.isTTY) process.stderr.write(`\r${a.id} ${i + 1}/${warmup + iterations}   `)
      }
      if (process.stderr.isTTY) process.stderr.write('\n')
    }

    const rows = [['agent', 'direct median ms', 'gateway median ms', 'ratio', 'added ms']]
    for (const a of list) {
      const s = samples.get(a.id)!
      const g = median(s.gateway)
      if (s.direct.length === 0) {
        rows.push([a.id, '- (gateway only)', g.toFixed(1), '-', '-'])
        continue
      }
      const d = median(s.direct)
      const added = g - d
      rows.push([
        a.id,
        d.toFixed(1),
        g.toFixed(1),
        (g / d).toFixed(3),
        `${added >= 0 ? '+' : ''}${added.toFixed(1)}`,
      ])
    }
    console.log(markdownTable(rows, [false, true, true, true, true]))
    console.log(`\n${loadLine('at the end')}`)
  } finally {
    await server?.close()
    await mock?.close()
    scope.close()
  }
}

runBench(main)
