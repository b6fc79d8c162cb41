/** A codex app-server host's request method (src/agents/codex-app-server/app-server-host.ts). */
type Request = (...args: unknown[]) => Promise<unknown>

export interface CodexRequests {
  request: Request
}

/**
 * The requests a gateway's `codex` driver sends to its shared app-server, to hold or fail one as a test needs: the
 * host is its app-server engine's (agents/codex/app-server-engine.ts), there once a run or session loaded it.
 */
export function codexRequestsOf(registry: { get(id: string): unknown }): CodexRequests {
  const driver = registry.get('codex') as { engine: { loaded?: { host: CodexRequests } } }
  const engine = driver.engine.loaded
  if (!engine) throw new Error('codex: no run or session has loaded the app-server engine yet')
  return engine.host
}

/**
 * Until the returned function is called, codex answers every `turn/steer` with an error (as when its app-server
 * fails the request): the gateway's steer is recorded, then fails on its way.
 */
export function failCodexSteers(host: CodexRequests): () => void {
  const request = host.request
  host.request = async (...args) => {
    if (args[0] === 'turn/steer') throw new Error('codex answered the steer with an error')
    return request.apply(host, args)
  }
  return () => {
    host.request = request
  }
}
