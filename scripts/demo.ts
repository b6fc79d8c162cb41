import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { startServer } from '../src/http/server.js'
import { installDemoScript, startMockLlm } from '../test/mock-llm/index.js'

/**
 * `npm run demo`: the gateway plus the offline mock model, so every endpoint can be tried without an API key.
 * codex is the real pinned binary; only the model is fake. State lives in a temp dir removed on exit.
 */
const mock = await startMockLlm({ port: Number(process.env.MOCK_LLM_PORT ?? 0) })
installDemoScript(mock)

const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-gateway-demo-'))
const codexHome = path.join(dir, 'codex-home')
mkdirSync(codexHome)
writeFileSync(
  path.join(codexHome, 'config.toml'),
  '[analytics]\nenabled = false\n[features]\nplugins = false\napps = false\n',
)

const server = await startServer({
  env: {
    ...process.env,
    HOST: '127.0.0.1',
    PORT: process.env.PORT ?? '8000',
    DATA_DIR: path.join(dir, 'data'),
    WORKSPACE_DIR: path.join(dir, 'workspace'),
    CODEX_HOME: codexHome,
    CODEX_API_BASE_URL: mock.baseUrl,
    CODEX_API_KEY: 'demo-key',
    CODEX_MODEL: 'gpt-5.5',
    CODEX_MAX_RETRIES: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  },
})

const u = server.url
console.log(`agent-gateway demo on ${u} (mock model at ${mock.baseUrl})

  curl ${u}/health
  curl ${u}/hello
  curl -X POST ${u}/chat -H 'content-type: application/json' -d '{"prompt":"say something"}'
  curl -N -X POST ${u}/run -H 'content-type: application/json' \\
    -d '{"cli":"codex","args":["exec","--json","--skip-git-repo-check","--sandbox","workspace-write","run a command"]}'
  curl ${u}/clis ; curl ${u}/models

Prompts containing "greeting", "run a command" or "slow" get scripted answers; anything else is echoed.
Ctrl-C stops everything.`)

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  await server.close()
  await mock.close()
  rmSync(dir, { recursive: true, force: true })
  process.exit(0)
}
process.on('SIGINT', () => void stop())
process.on('SIGTERM', () => void stop())
