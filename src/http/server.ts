import { mkdirSync } from 'node:fs'
import type { Server } from 'node:http'
import type { FastifyInstance, FastifyServerFactory } from 'fastify'
import { ConfigError } from '../config/config-error.js'
import { type Config, isLoopbackHost, loadConfig } from '../config/load.js'
import { endAfterAbortMs } from '../core/active-runs.js'
import type { GatewayContext } from '../core/context.js'
import { createGateway, stopGateway } from '../core/gateway.js'
import { buildApp } from './app.js'
import { ConnectionGuard } from './connection-guard.js'
import { createListener, type Listener } from './listener.js'
import { fastifyListeningText, type LogSink } from './logging.js'

export interface RunningServer {
  app: FastifyInstance
  ctx: GatewayContext
  url: string
  /** Every address it listens on: `url`'s, or each interface's when HOST is a wildcard (0.0.0.0). */
  addresses: string[]
  /** Stop accepting, give runs in flight `graceMs` (default SHUTDOWN_GRACE_SECONDS), end the rest, close. */
  close(graceMs?: number): Promise<void>
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
  opts: {
    env?: NodeJS.ProcessEnv
    cwd?: string
    config?: Config
    logger?: boolean
    /** Where log lines go (default stdout); tests read them. */
    logStream?: LogSink
  } = {},
): Promise<RunningServer> {
  const env = opts.env ?? process.env
  const config = opts.config ?? loadConfig(env, opts.cwd)
  assertSafeToListen(config)
  mkdirSync(config.DATA_DIR, { recursive: true })
  mkdirSync(config.WORKSPACE_DIR, { recursive: true })
  const ctx = await createGateway(config, env)
  let listener: Listener | undefined
  const guard = new ConnectionGuard(config, (reason) => ctx.metrics.connectionRefused(reason))
  const serverFactory: FastifyServerFactory = (handler) => {
    listener = createListener(config, handler, guard)
    return listener.server as unknown as Server
  }
  const app = await buildApp(ctx, {
    serverFactory,
    clientErrorHandler: guard.clientError,
    ...(opts.logger === undefined ? {} : { logger: opts.logger }),
    ...(opts.logStream ? { logStream: opts.logStream } : {}),
  })
  const bound: string[] = []
  try {
    await app.listen({
      host: config.HOST,
      port: config.PORT,
      listenTextResolver: (address) => {
        bound.push(address)
        return fastifyListeningText
      },
    })
  } catch (err) {
    await stopGateway(ctx, 0)
    throw err
  }
  // what killed gateways left goes in the background: it must not delay the first answer
  ctx.leftovers.start(app.log)
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : config.PORT
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST
  const protocol = listener?.protocol ?? 'http'
  return {
    app,
    ctx,
    url: `${protocol}://${host}:${port}`,
    // Fastify names them http:// whatever our listener speaks (it does not know about its TLS)
    addresses: bound.map((address) => address.replace(/^https?:/, `${protocol}:`)),
    async close(graceMs = config.SHUTDOWN_GRACE_SECONDS * 1000) {
      // Stop accepting connections first, then let runs finish within the grace period, then end them.
      const closing = closeGracefully(app, listener, graceMs + endAfterAbortMs(config))
      await stopGateway(ctx, graceMs)
      await closing
    },
  }
}

/**
 * Stops accepting, lets in-flight requests finish, and closes keep-alive connections as soon as they turn
 * idle (Fastify only closes the ones idle at the moment close starts); after `ceilingMs` all are cut.
 */
async function closeGracefully(
  app: FastifyInstance,
  listener: Listener | undefined,
  ceilingMs: number,
): Promise<void> {
  // HTTP/2 sessions get GOAWAY (streams in flight finish); HTTP/1.1 keep-alive sockets close when idle.
  const server = app.server as Partial<Server>
  listener?.closeHttp2Sessions()
  listener?.closeSilent()
  const sweeper = setInterval(() => {
    server.closeIdleConnections?.()
    listener?.closeHttp2Sessions()
    listener?.closeSilent()
  }, 50)
  const ceiling = setTimeout(() => {
    server.closeAllConnections?.()
    listener?.destroyAll()
  }, ceilingMs)
  try {
    await app.close()
  } finally {
    clearInterval(sweeper)
    clearTimeout(ceiling)
  }
}
