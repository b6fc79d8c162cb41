import { z } from 'zod'

/**
 * The JSON-RPC 2.0 envelopes a peer can receive, parsed (never cast). codex app-server omits `"jsonrpc":"2.0"`
 * on the wire, so the field is optional here; payloads (`params`, `result`, `error.data`) stay `unknown`.
 */
const requestId = z.union([z.string(), z.number()])
export type RequestId = z.infer<typeof requestId>

export const rpcErrorObject = z.object({
  code: z.number(),
  message: z.string(),
  data: z.unknown().optional(),
})
export type RpcErrorObject = z.infer<typeof rpcErrorObject>

const jsonrpc = { jsonrpc: z.literal('2.0').optional() }
const request = z.object({ ...jsonrpc, id: requestId, method: z.string(), params: z.unknown().optional() })
const notification = z.object({ ...jsonrpc, method: z.string(), params: z.unknown().optional() })
const success = z.object({ ...jsonrpc, id: requestId, result: z.unknown() })
const failure = z.object({ ...jsonrpc, id: requestId.nullable(), error: rpcErrorObject })

export type InboundMessage =
  | { kind: 'request'; id: RequestId; method: string; params: unknown }
  | { kind: 'notification'; method: string; params: unknown }
  | { kind: 'response'; id: RequestId; result: unknown }
  | { kind: 'error'; id: RequestId | null; error: RpcErrorObject }
  | { kind: 'invalid'; reason: string }

/** Classifies one line of input; anything that is not a JSON-RPC message comes back as `invalid`. */
export function parseMessage(line: string): InboundMessage {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return { kind: 'invalid', reason: 'not JSON' }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { kind: 'invalid', reason: 'not a JSON object' }
  return wellFormed(value as Envelope) ?? classify(value)
}

type Envelope = Record<string, unknown>

const isId = (id: unknown): id is RequestId =>
  typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))

/**
 * The request, notification or success codex sends, told by hand (a dozen per warm turn: zod's parse of each
 * made a copy of it and a result per field); exactly when zod's schemas above accept it, with the same data.
 * Anything else (an error response, a malformed message) is undefined: `classify` parses it with zod, and says
 * what is wrong. test/unit/rpc-message.test.ts holds both to each other.
 */
function wellFormed(value: Envelope): InboundMessage | undefined {
  if (value.jsonrpc !== undefined && value.jsonrpc !== '2.0') return undefined
  if ('method' in value) {
    if (typeof value.method !== 'string') return undefined
    if (!('id' in value)) return { kind: 'notification', method: value.method, params: value.params }
    return isId(value.id)
      ? { kind: 'request', id: value.id, method: value.method, params: value.params }
      : undefined
  }
  if ('error' in value || !('result' in value) || !isId(value.id)) return undefined
  return { kind: 'response', id: value.id, result: value.result }
}

/** A JSON object, classified by zod's schemas. */
export function classify(value: object): InboundMessage {
  if ('method' in value) {
    if ('id' in value) {
      const r = request.safeParse(value)
      return r.success
        ? { kind: 'request', id: r.data.id, method: r.data.method, params: r.data.params }
        : invalid('request', r.error)
    }
    const n = notification.safeParse(value)
    return n.success
      ? { kind: 'notification', method: n.data.method, params: n.data.params }
      : invalid('notification', n.error)
  }
  if ('error' in value) {
    const f = failure.safeParse(value)
    return f.success
      ? { kind: 'error', id: f.data.id, error: f.data.error }
      : invalid('error response', f.error)
  }
  if ('result' in value) {
    const s = success.safeParse(value)
    return s.success
      ? { kind: 'response', id: s.data.id, result: s.data.result }
      : invalid('response', s.error)
  }
  return { kind: 'invalid', reason: 'neither a request, a notification nor a response' }
}

function invalid(what: string, error: z.ZodError): InboundMessage {
  return { kind: 'invalid', reason: `malformed ${what}: ${z.prettifyError(error).replaceAll('\n', ' ')}` }
}
