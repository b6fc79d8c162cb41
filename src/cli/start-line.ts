/**
 * The one log line that says where a started server listens: its URL and docs, and, when it listens on a
 * wildcard address (HOST=0.0.0.0), the addresses it can be reached at.
 */
export function startLine(server: { url: string; addresses: readonly string[] }): {
  fields: Record<string, unknown>
  msg: string
} {
  const { url } = server
  const others = server.addresses.filter((address) => address !== url)
  const reachable = others.length > 0 ? `; reachable at ${others.join(', ')}` : ''
  return {
    fields: {
      url,
      docs: `${url}/docs`,
      openapi: `${url}/openapi.json`,
      ...(others.length > 0 ? { addresses: others } : {}),
    },
    msg: `agent-gateway listening on ${url} (docs: ${url}/docs${reachable})`,
  }
}
