import { mkdirSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import { AgentRegistry } from '../agents/registry.js'
import { ConfigError } from '../config/config-error.js'
import { type Config, isLoopbackHost, loadConfig } from '../config/load.js'
import { ActiveRuns } from '../core/active-runs.js'
import { buildApp } from './app.js'
import type { GatewayContext } from './context.js'

export interface RunningServer {
  app: FastifyInstance
  ctx: GatewayContext
  url: string
  /** Stop accepting, end runs in flight (recorded as `shutdown`), close. */
  close(): Promise<void>
}

/** Refuses settings that would expose agents to strangers. */
export function assertSafeToListen(config: Config): void {
  if (!isLoopbackHost(config.HOST) && config.API_TOKENS.length === 0)
    throw new ConfigError(
      `refusing to listen on ${config.HOST} without API_TOKENS: anyone who can reach it could run agents. ` +
        'Set API_TOKENS=<token>[,<token>...] or listen on 127.0.0.1.',
    )
}

export async function startServer(
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; config?: Config; logger?: boolean } = {},
): Promise<RunningServer> {
  const env = opts.env ?? process.env
  const config = opts.config ?? loadConfig(env, opts.cwd)
  assertSafeToListen(config)
  mkdirSync(config.DATA_DIR, { recursive: true })
  mkdirSync(config.WORKSPACE_DIR, { recursive: true })
  const ctx: GatewayContext = {
    config,
    registry: AgentRegistry.fromConfig(config, env),
    active: new ActiveRuns(),
  }
  const app = await buildApp(ctx, opts.logger === undefined ? {} : { logger: opts.logger })
  await app.listen({ host: config.HOST, port: config.PORT })
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : config.PORT
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST
  return {
    app,
    ctx,
    url: `http://${host}:${port}`,
    async close() {
      ctx.active.abortAll('shutdown')
      await closeGracefully(app, config.KILL_GRACE_MS + 5000)
    },
  }
}

/**
 * Stops accepting, lets in-flight requests finish, and closes keep-alive connections as soon as they turn
 * idle (Fastify only closes the ones idle at the moment close starts); after `ceilingMs` all are cut.
 */
async function closeGracefully(app: FastifyInstance, ceilingMs: number): Promise<void> {
  const sweeper = setInterval(() => app.server.closeIdleConnections(), 50)
  const ceiling = setTimeout(() => app.server.closeAllConnections(), ceilingMs)
  try {
    await app.close()
  } finally {
    clearInterval(sweeper)
    clearTimeout(ceiling)
  }
}
