import type { FastifyInstance } from 'fastify'

/** Headers about the HTTP/1.1 connection, which an HTTP/2 response must not carry (RFC 9113 section 8.2.2). */
const connectionSpecific = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']

/**
 * Takes the connection-specific headers off HTTP/2 answers before they are written. Fastify sets `connection:
 * close` on the answer to a body that failed (400, 408, 413), for HTTP/1.1; Node's HTTP/2 compatibility layer
 * drops it but prints an UnsupportedWarning on the gateway's stderr (once per process), and refuses the others.
 */
export function registerH2ResponseHeaders(app: FastifyInstance): void {
  // a callback hook, not an async one: every answer passes here, and an HTTP/1.1 one should cost no promise
  app.addHook('onSend', (request, reply, payload, done) => {
    if (request.raw.httpVersionMajor === 2)
      for (const name of connectionSpecific) if (reply.hasHeader(name)) reply.removeHeader(name)
    done(null, payload)
  })
}
