import type { FastifyInstance } from 'fastify'
import type { AgentStreamConnection } from './agent-stream-session.js'

/**
 * The live connections of a route's plugin, each told when the gateway begins to stop (Fastify's preClose), so
 * that none holds the stop open (AgentStreamConnection.stopping). Returns how a connection joins; that returns
 * how it leaves.
 */
export function stoppedWithGateway(app: FastifyInstance): (c: AgentStreamConnection) => () => void {
  const live = new Set<AgentStreamConnection>()
  app.addHook('preClose', async () => {
    for (const c of live) c.stopping()
  })
  return (c) => {
    live.add(c)
    return () => live.delete(c)
  }
}
