/**
 * An agent's request that got no answer within its time limit (codex app-server's JSON-RPC, CODEX_REQUEST_TIMEOUT;
 * agents/codex-app-server/rpc-errors.ts's RpcTimeoutError is one). The surfaces tell it from other failures without
 * knowing the agents: as the error (`isAgentRequestTimeout`), or as the words a turn that failed of it recorded
 * (`isAgentRequestTimeoutMessage`), which this file alone writes.
 */
export class AgentRequestTimeoutError extends Error {
  override name = 'AgentRequestTimeoutError'
  constructor(
    readonly method: string,
    readonly timeoutMs: number,
    peer: string,
  ) {
    super(`${peer}: ${method} got no response within ${timeoutMs} ms`)
  }
}

const timeoutWords = /^[^:\n]+: [\w/.-]+ got no response within \d+ ms$/

/** Whether a turn's recorded error is an AgentRequestTimeoutError's message (a request of its turn timed out). */
export function isAgentRequestTimeoutMessage(message: string | null | undefined): boolean {
  return typeof message === 'string' && timeoutWords.test(message)
}

/** Whether `err`, or an error it was caused by, is an AgentRequestTimeoutError. */
export function isAgentRequestTimeout(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++)
    if (e instanceof AgentRequestTimeoutError) return true
  return false
}
