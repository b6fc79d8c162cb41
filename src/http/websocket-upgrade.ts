import { type IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify'
import type { ServerOptions, WebSocket, WebSocketServer } from 'ws'
import { firstUse } from '../util/first-use.js'

/** What an upgrade request brought: its socket (no longer the HTTP server's) and the bytes read past its head. */
const upgraded = Symbol('upgraded socket')
type UpgradeRequest = IncomingMessage & { [upgraded]?: { socket: Duplex; head: Buffer } }

/** A WebSocket route's handler: the open socket and the request whose hooks (auth, scope, ...) let it through. */
export type WebSocketHandler = (ws: WebSocket, request: FastifyRequest) => void

/**
 * WebSocket routes whose `ws` server is loaded with the first upgrade, not with the gateway (what
 * @fastify/websocket did, minus loading `ws` and its dependencies at start: an idle gateway does not need them).
 * Every `Upgrade` request is routed through the app as any request is (onUpgrade), so its hooks run (auth, request
 * id, log) and a refusal is an ordinary answer written to the upgraded socket; a route of `websocketRoute` then takes
 * the socket over (hijacked) and completes the handshake. The same route without an upgrade answers 404, as do its
 * HEAD requests. `app` must be the one whose server listens (the upgrade listener is on `app.server`).
 */
export function websocketUpgrades(app: FastifyInstance, options: Omit<ServerOptions, 'noServer'>) {
  const server = firstUse(async () => {
    const { WebSocketServer } = await import('ws')
    return new WebSocketServer({ ...options, noServer: true })
  })

  // Node takes its own socket error listener off before 'upgrade': until ws has the socket, an error ends it.
  function onSocketError(this: Duplex) {
    this.destroy()
  }
  function onUpgrade(raw: UpgradeRequest, socket: Duplex, head: Buffer) {
    socket.on('error', onSocketError)
    raw[upgraded] = { socket, head }
    const response = new ServerResponse(raw)
    try {
      response.assignSocket(socket as Parameters<ServerResponse['assignSocket']>[0])
      app.routing(raw, response)
    } catch (err) {
      app.log.warn({ err }, 'websocket upgrade failed')
    }
  }
  app.server.on('upgrade', onUpgrade)
  app.addHook('preClose', (done) => {
    app.server.removeListener('upgrade', onUpgrade)
    done()
  })
  // An upgrade the app answered itself (401, 404, 429, ...) leaves its socket unused: it is no longer the server's.
  app.addHook('onResponse', async (request) => {
    const up = (request.raw as UpgradeRequest)[upgraded]
    if (up) up.socket.destroy()
  })

  async function accept(request: FastifyRequest, reply: FastifyReply, handler: WebSocketHandler) {
    const raw = request.raw as UpgradeRequest
    const up = raw[upgraded]
    if (!up) return reply.code(404).send()
    reply.hijack()
    let wss: WebSocketServer
    try {
      wss = server.loaded ?? (await server.load())
    } catch (err) {
      request.log.error({ err }, 'websocket server not loaded')
      up.socket.destroy()
      return
    }
    // ws puts its own error listener on the socket in handleUpgrade: the error is then its to handle
    up.socket.removeListener('error', onSocketError)
    wss.handleUpgrade(raw, up.socket, up.head, (ws) => {
      wss.emit('connection', ws, raw)
      const fail = (err: unknown) => {
        request.log.error(err)
        ws.terminate()
      }
      ws.on('error', fail)
      try {
        handler(ws, request)
      } catch (err) {
        fail(err)
      }
    })
  }

  return {
    /** GET `url` as a WebSocket route (hidden from the OpenAPI document). */
    route(url: string, opts: Pick<RouteShorthandOptions, 'config'>, handler: WebSocketHandler): void {
      app.get(url, { ...opts, schema: { hide: true } }, (request, reply) => accept(request, reply, handler))
    },
  }
}
