#!/usr/bin/env node
import { ConfigError } from './config/config-error.js'
import { startServer } from './http/server.js'

/** CLI entry: `agent-gateway serve` (default), `agent-gateway stream [sessionId] [prompt]` (seed 004 demo client). */
async function main(argv: string[]): Promise<void> {
  const command = argv[0] ?? 'serve'
  if (command === 'stream') {
    const client = await import('./http/compat/agent-stream-demo-client.js')
    const opts = client.streamClientOptions(argv.slice(1), process.env)
    return client.runStreamClient({ ...opts, input: process.stdin, output: process.stdout })
  }
  if (command !== 'serve') {
    console.error(`unknown command "${command}"; usage: agent-gateway serve | stream [sessionId] [prompt]`)
    process.exit(2)
  }
  const server = await startServer()
  server.app.log.info({ url: server.url }, 'agent-gateway listening')
  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    server.app.log.info({ signal }, 'shutting down')
    await server.close()
    process.exit(0)
  }
  process.once('SIGTERM', () => void stop('SIGTERM'))
  process.once('SIGINT', () => void stop('SIGINT'))
}

main(process.argv.slice(2)).catch((err) => {
  if (err instanceof ConfigError) {
    console.error(`agent-gateway: ${err.message}`)
    process.exit(78)
  }
  console.error(err)
  process.exit(1)
})
