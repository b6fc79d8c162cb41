import type { IncomingHttpHeaders } from 'node:http'

/** The subprotocol prefix that carries a bearer token on a WebSocket upgrade: `bearer.<base64url(token)>`. */
export const bearerProtocolPrefix = 'bearer.'

/**
 * Browsers cannot set `Authorization` on a WebSocket; they can offer subprotocols. A WebSocket upgrade may
 * carry its token as the subprotocol `bearer.<base64url(token)>` (next to the real one, e.g. `agent-stream`);
 * the server never selects it, so it is not echoed back. Tokens never go in a URL.
 */
export function bearerFromSubprotocol(headers: IncomingHttpHeaders): string | undefined {
  if ((headers.upgrade ?? '').toLowerCase() !== 'websocket') return undefined
  const offered = String(headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
  const carrier = offered.find((p) => p.startsWith(bearerProtocolPrefix))
  if (!carrier) return undefined
  const token = Buffer.from(carrier.slice(bearerProtocolPrefix.length), 'base64url').toString('utf8')
  return token || undefined
}
