import { z } from 'zod'
import { codexConfigToml } from './codex-config.js'
import { installDemoScript } from './demo-script.js'
import { startMockLlm } from './server.js'

// Run by hand: `npx tsx test/mock-llm/main.ts` (or `npm run mock-llm`). Offline fake model with demo rules.

const port = z.coerce
  .number()
  .int()
  .min(0)
  .max(65_535)
  .parse(process.env.MOCK_LLM_PORT ?? 8787)

const mock = await startMockLlm({ port, log: (line) => console.log(`[mock-llm] ${line}`) })
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
