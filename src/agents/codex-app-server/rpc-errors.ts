import { AgentRequestTimeoutError } from '../../protocol/agent-request-timeout.js'

/** Why a JSON-RPC request did not get a result: a timeout, an error response, or a peer that went away. */

/**
 * No response within the request's time limit; the request is forgotten (a late answer is ignored). An
 * AgentRequestTimeoutError: the surfaces tell it apart (seed 003 answers it as its original did).
 */
export class RpcTimeoutError extends AgentRequestTimeoutError {
  override name = 'RpcTimeoutError'
}

/** The peer answered with a JSON-RPC error object. */
export class RpcResponseError extends Error {
  override name = 'RpcResponseError'
  constructor(
    readonly method: string,
    readonly code: number,
    readonly rpcMessage: string,
    readonly data: unknown,
    peer: string,
  ) {
    super(`${peer}: ${method} failed (${code}): ${rpcMessage}`)
  }
}

/** The connection ended (the process died, was closed, or its output ended) before the response came. */
export class RpcClosedError extends Error {
  override name = 'RpcClosedError'
}

/**
 * The peer's answer is longer than the gateway reads as one line (`limit` characters): it is dropped, and the
 * request fails at once with this rather than waiting for its time limit.
 */
export class RpcOverlongAnswerError extends Error {
  override name = 'RpcOverlongAnswerError'
  constructor(
    readonly method: string,
    readonly limit: number,
    peer: string,
    hint: string,
  ) {
    super(
      `${peer} answered ${method} with more than ${limit} characters on one line, more than the gateway reads: ${hint}`,
    )
  }
}

/** JSON-RPC error codes used when answering the peer's requests. */
export const rpcErrorCodes = { methodNotFound: -32601, internalError: -32603 } as const
