#!/usr/bin/env node
import { ConfigError } from './config/config-error.js'
import { startServer } from './http/server.js'

/** CLI entry: `agent-gateway serve` (default). */
async function main(argv: string[]): Promise<void> {
  const [command = 'serve', ...flags] = argv
  if (command !== 'serve') {
    console.error(`unknown command "${command}"; usage: agent-gateway serve [--role all|api|worker]`)
    process.exit(2)
  }
  // `--role` overrides GATEWAY_ROLE (validated with the other settings).
  const at = flags.indexOf('--role')
  const role = flags.find((f) => f.startsWith('--role='))?.slice(7) ?? (at >= 0 ? flags[at + 1] : undefined)
  if (at >= 0 || role !== undefined) {
    if (!role) {
      console.error('--role needs a value: all, api or worker')
      process.exit(2)
    }
    process.env.GATEWAY_ROLE = role
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
