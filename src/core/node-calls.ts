import { AppError, type ErrorCode, errorRegistry } from '../protocol/errors.js'
import type { NodeMessage, NodeSignals } from '../store/node-signals.js'
import { newId } from './ids.js'

type Handler = (params: never) => Promise<unknown>
type CallMessage = Extract<NodeMessage, { kind: 'call' }>
type ReplyMessage = Extract<NodeMessage, { kind: 'reply' }>

interface Waiting {
  resolve: (result: unknown) => void
  reject: (err: Error) => void
}

/**
 * Requests and answers between gateway nodes over NodeSignals: an API node asks the worker that holds a
 * session to act on it. A call ends with the callee's answer, with its error (same code, so the same HTTP
 * status), or with 503 `worker_unavailable` once the callee is no longer alive (checked every `checkMs`) or
 * `timeoutMs` passed.
 */
export class NodeCalls {
  private readonly waiting = new Map<string, Waiting>()
  private readonly handlers = new Map<string, Handler>()

  constructor(
    private readonly node: string,
    private readonly signals: NodeSignals,
    private readonly isAlive: (node: string) => Promise<boolean>,
    private readonly checkMs: number,
  ) {
    signals.onMessage((message) => {
      if (message.kind === 'call') void this.serve(message)
      else if (message.kind === 'reply') this.settle(message)
    })
  }

  /** Answers `method` for other nodes. */
  handle<P>(method: string, handler: (params: P) => Promise<unknown>): void {
    this.handlers.set(method, handler as Handler)
  }

  async call<T>(to: string, method: string, params: unknown, timeoutMs: number): Promise<T> {
    const callId = newId('call')
    const answered = new Promise<unknown>((resolve, reject) => this.waiting.set(callId, { resolve, reject }))
    // The answer can come while `send` is still settling, before the race below listens: not unhandled.
    answered.catch(() => {})
    let timer: NodeJS.Timeout | undefined
    let check: NodeJS.Timeout | undefined
    const abandoned = new Promise<never>((_, reject) => {
      const give = (why: string) => reject(new AppError('worker_unavailable', why, { retryAfterSeconds: 5 }))
      timer = setTimeout(
        () => give(`node ${to} did not answer ${method} within ${timeoutMs / 1000} s`),
        timeoutMs,
      )
      check = setInterval(
        () =>
          void this.isAlive(to)
            .then((alive) => {
              if (!alive) give(`the node holding it (${to}) stopped while handling ${method}; retry`)
            })
            .catch(() => {}),
        this.checkMs,
      )
    })
    abandoned.catch(() => {})
    try {
      await this.signals.send(to, { kind: 'call', callId, from: this.node, method, params })
      return (await Promise.race([answered, abandoned])) as T
    } finally {
      clearTimeout(timer)
      clearInterval(check)
      this.waiting.delete(callId)
    }
  }

  private async serve(message: CallMessage): Promise<void> {
    let reply: ReplyMessage
    try {
      const handler = this.handlers.get(message.method)
      if (!handler) throw new AppError('internal', notAnswered(this.node, message.method))
      reply = {
        kind: 'reply',
        callId: message.callId,
        ok: true,
        result: await handler(message.params as never),
      }
    } catch (err) {
      reply = { kind: 'reply', callId: message.callId, ok: false, error: describe(err) }
    }
    // A caller that is gone no longer waits; its own check ends the call.
    await this.signals.send(message.from, reply).catch(() => {})
  }

  private settle(message: ReplyMessage): void {
    const waiting = this.waiting.get(message.callId)
    if (!waiting) return
    this.waiting.delete(message.callId)
    if (message.ok) waiting.resolve(message.result)
    else {
      const { code, message: text, details } = message.error
      waiting.reject(new AppError(code in errorRegistry ? (code as ErrorCode) : 'internal', text, details))
    }
  }
}

function describe(err: unknown): { code: string; message: string; details?: unknown } {
  if (err instanceof AppError)
    return {
      code: err.code,
      message: err.message,
      ...(err.details !== undefined ? { details: err.details } : {}),
    }
  return { code: 'internal', message: (err as Error).message ?? String(err) }
}

/**
 * The error message of a node asked a method it has no handler for. Nodes of every version since NodeCalls began
 * answer with it (code `internal`), so a newer caller can tell that an older node lacks a method: keep it as is.
 */
const notAnswered = (node: string, method: string) => `node ${node} does not answer ${method}`

/** Whether `err` is node `to`'s answer that it has no handler for `method` (a node of an older version). */
export function lacksMethod(err: unknown, to: string, method: string): boolean {
  return err instanceof AppError && err.code === 'internal' && err.message === notAnswered(to, method)
}
