import { z } from 'zod'
import { codexConfigToml } from './codex-config.js'
import { installDemoScript } from './demo-script.js'
import { startMockLlm } from './server.js'

// Run by hand: `npx tsx test/mock-llm/main.ts` (or `npm run mock-llm`). Offline fake model with demo rules.

const parsedPort = z.coerce
  .number()
  .int()
  .min(0)
  .max(65_535)
  .safeParse(process.env.MOCK_LLM_PORT ?? 8787)
if (!parsedPort.success) {
  console.error(`mock-llm: MOCK_LLM_PORT must be a port from 0 to 65535, got "${process.env.MOCK_LLM_PORT}"`)
  process.exit(2)
}
const port = parsedPort.data

const mock = await startMockLlm({ port, log: (line) => console.log(`[mock-llm] ${line}`) }).catch((err) => {
  if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err
  console.error(`mock-llm: port ${port} is already in use: set MOCK_LLM_PORT to a free port (0 picks one)`)
  process.exit(1)
})
installDemoScript(mock)

console.log(`mock-llm listening: ${mock.baseUrl}\n`)
console.log('To point codex at it, use this $CODEX_HOME/config.toml and set MOCK_KEY to anything:\n')
console.log(codexConfigToml(mock.baseUrl))
console.log('Try prompts containing "greeting", "run a command", "slow", or anything else (echoed back).')

let stopping = false
async function stop(signal: string): Promise<void> {
  if (stopping) return
  stopping = true
  console.log(`[mock-llm] ${signal}: closing`)
  await mock.close()
  process.exit(0)
}
process.on('SIGINT', () => void stop('SIGINT'))
process.on('SIGTERM', () => void stop('SIGTERM'))
