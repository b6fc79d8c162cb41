import { parseArgs } from 'node:util'
import type { CliCommand } from '../command.js'
import { UsageError } from '../command.js'
import { holdOptimizingCompilers } from '../optimizer-hold.js'
import { startLine } from '../start-line.js'
import { holdYoungGeneration } from '../young-generation.js'

/** `agent-gateway serve`: the HTTP server, configured by env and .env; stops gracefully on SIGTERM/SIGINT. */
export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'start the HTTP server (settings from the environment and .env)',
  usage: [
    'usage: agent-gateway serve [--host <address>] [--port <port>] [--role all|api|worker]',
    '',
    'Starts the server. Every setting is an environment variable (see .env.example and the README);',
    '--host, --port and --role override HOST, PORT and GATEWAY_ROLE. SIGTERM or SIGINT stop it gracefully.',
  ].join('\n'),
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        role: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    })
    if (values.help) {
      console.log(serveCommand.usage)
      return 0
    }
    if (values.port !== undefined && !/^\d+$/.test(values.port))
      throw new UsageError(`--port must be a number from 0 to 65535, got "${values.port}"`)
    if (values.role !== undefined && !['all', 'api', 'worker'].includes(values.role))
      throw new UsageError(`--role must be all, api or worker, got "${values.role}"`)
    const env = {
      ...process.env,
      ...(values.host !== undefined ? { HOST: values.host } : {}),
      ...(values.port !== undefined ? { PORT: values.port } : {}),
      ...(values.role !== undefined ? { GATEWAY_ROLE: values.role } : {}),
    }
    // before anything starts: no agent's command may read the secrets from /proc/<this pid>/environ
    const { scrubOwnEnviron } = await import('../../process/own-environ.js')
    const environ = scrubOwnEnviron()
    const releaseYoungGeneration = holdYoungGeneration()
    const releaseCompilers = holdOptimizingCompilers()
    // loaded here, so that --help and --version answer without loading the server
    const { startServer } = await import('../../http/server.js')
    const server = await startServer({ env }).finally(() => {
      releaseYoungGeneration()
      releaseCompilers()
    })
    let stopping = false
    const stop = async (signal: string) => {
      if (stopping) return
      stopping = true
      server.app.log.info({ signal }, 'shutting down')
      await server.close()
      // what an agent's command left (a daemon that ignores SIGTERM): ended before this process exits
      const { endServerProcesses } = await import('../../process/exit-sweep.js')
      const swept = await endServerProcesses(server.ctx.config.KILL_GRACE_MS)
      if (swept.found > 0) server.app.log.warn(swept, 'ended processes the agents left running')
      process.exit(0)
    }
    process.once('SIGTERM', () => void stop('SIGTERM'))
    process.once('SIGINT', () => void stop('SIGINT'))
    // announced only once the handlers are in place: whoever waits for this line may send SIGTERM at once
    if ('failed' in environ)
      server.app.log.warn(
        { reason: environ.failed },
        "could not clear the secrets from this process's /proc environ: commands of this user can read them there",
      )
    const line = startLine(server)
    server.app.log.info(line.fields, line.msg)
    return 'running'
  },
}
