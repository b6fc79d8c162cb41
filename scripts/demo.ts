import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { describeStartupError } from '../src/cli/startup-error.js'
import { startServer } from '../src/http/server.js'
import { installDemoScript, startMockLlm } from '../test/mock-llm/index.js'
import { asCurl, type Step, send, steps } from './demo/walkthrough.js'

/**
 * `npm run demo`: the gateway with EVERY agent (codex, claude, gemini, copilot, the ACP presets) wired to the
 * offline mock model, and a printed walkthrough of the native API and every seed API as curl commands. The
 * agent CLIs are the real pinned ones; only the model is fake. State lives in a temp dir removed on exit.
 *
 * `npm run demo -- --check` sends the whole walkthrough itself, prints each answer's status, and exits
 * (0 when every step answered as expected).
 */
const { values } = parseArgs({ options: { check: { type: 'boolean' }, port: { type: 'string' } } })
const model = 'gpt-5.5'
const key = 'demo-key'

const mock = await startMockLlm({ port: Number(process.env.MOCK_LLM_PORT ?? 0) })
installDemoScript(mock)

const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-gateway-demo-'))
const codexHome = path.join(dir, 'codex-home')
mkdirSync(codexHome)
writeFileSync(
  path.join(codexHome, 'config.toml'),
  '[analytics]\nenabled = false\n[features]\nplugins = false\napps = false\n',
)
const geminiHome = path.join(dir, 'gemini-home')
mkdirSync(geminiHome)

const port = values.port ?? process.env.PORT ?? '8000'
const server = await startServer({
  env: {
    ...process.env,
    HOST: '127.0.0.1',
    PORT: port,
    DATA_DIR: path.join(dir, 'data'),
    WORKSPACE_DIR: path.join(dir, 'workspace'),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    // every agent's first run at once, beside codex's (--check): none of them queued behind the others
    MAX_CONCURRENT_RUNS: process.env.MAX_CONCURRENT_RUNS ?? '8',
    // codex (exec, app-server sessions, and the codex-acp preset)
    CODEX_HOME: codexHome,
    CODEX_API_BASE_URL: mock.baseUrl,
    CODEX_API_KEY: key,
    CODEX_MODEL: model,
    CODEX_MAX_RETRIES: '0',
    // Claude Code (and the claude-agent-acp preset): Anthropic Messages
    ANTHROPIC_BASE_URL: mock.url,
    ANTHROPIC_API_KEY: key,
    CLAUDE_CODE_MAX_RETRIES: '0',
    // Gemini CLI: Gemini's streamGenerateContent
    GOOGLE_GEMINI_BASE_URL: mock.url,
    GEMINI_API_KEY: key,
    GEMINI_MODEL: 'gemini-2.5-flash',
    GEMINI_CLI_HOME: geminiHome,
    // Copilot CLI: bring-your-own-key Chat Completions, offline
    COPILOT_PROVIDER_BASE_URL: mock.baseUrl,
    COPILOT_PROVIDER_API_KEY: key,
    COPILOT_MODEL: model,
  },
}).catch(async (err: unknown) => {
  // one line for a person (a port in use: `npm start` may hold 8000), and nothing left behind
  await mock.close()
  rmSync(dir, { recursive: true, force: true })
  const { message, exitCode } = describeStartupError(err)
  const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE'
  console.error(
    `demo: ${message}${inUse ? `; for the demo: npm run demo -- --port ${Number(port) + 1}` : ''}`,
  )
  process.exit(exitCode)
})

let stopping = false
const stop = async (code = 0) => {
  if (stopping) return
  stopping = true
  await server.close()
  await mock.close()
  rmSync(dir, { recursive: true, force: true })
  process.exit(code)
}
process.on('SIGINT', () => void stop())
process.on('SIGTERM', () => void stop())

const u = server.url
if (values.check) {
  const vars: Record<string, string> = {}
  let failed = 0
  const check = async (step: Step) => {
    const started = Date.now()
    const { status, preview } = await send(step, u, vars).catch((err: Error) => ({
      status: 0,
      preview: err.message,
    }))
    const ok = status === step.status
    if (!ok) failed++
    return `${ok ? 'ok  ' : 'FAIL'} ${status} ${step.method} ${step.path} (${step.section}: ${step.title}) ${Date.now() - started} ms  ${preview}`
  }
  // a step marked concurrent goes on beside the steps after it (the next one is sent at once); every other step
  // is answered before the next is sent. The lines are printed in the steps' order, each once those before it are.
  const lines: (string | undefined)[] = []
  let printed = 0
  const sent: Promise<void>[] = []
  for (const [i, step] of steps.entries()) {
    const answered = check(step).then((line) => {
      lines[i] = line
      while (lines[printed] !== undefined) console.log(lines[printed++])
    })
    sent.push(answered)
    if (!step.concurrent) await answered
  }
  await Promise.all(sent)
  console.log(
    failed ? `${failed} of ${steps.length} steps failed` : `all ${steps.length} steps answered as expected`,
  )
  await stop(failed ? 1 : 0)
} else {
  const lines = [
    `agent-gateway demo on ${u} (docs: ${u}/docs) with every agent on the mock model at ${mock.baseUrl}`,
    '',
  ]
  let section = ''
  for (const step of steps) {
    if (step.section !== section) {
      section = step.section
      lines.push(`## ${section}`, '')
    }
    lines.push(`# ${step.title}`, asCurl(step, u), '')
  }
  lines.push(
    'Prompts containing "greeting", "run a command" or "slow" get scripted answers; anything else is echoed.',
    'Ctrl-C stops everything.',
  )
  console.log(lines.join('\n'))
}
