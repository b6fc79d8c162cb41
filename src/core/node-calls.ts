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
 * A call its callee did not answer: the callee was judged dead, or `timeoutMs` passed while it lived. 503
 * `worker_unavailable`; `taken` says whether the callee had taken the call (it may have acted on it) or not (its
 * message was withdrawn: it was not acted on, and never will be), which decides whether a caller may send it again.
 */
export class CallUnanswered extends AppError {
  override name = 'CallUnanswered'
  constructor(
    readonly to: string,
    readonly method: string,
    readonly taken: boolean,
    readonly why: 'dead' | 'timeout',
    message: string,
  ) {
    super('worker_unavailable', message, { retryAfterSeconds: 5 })
  }
}

export interface NodeCallOptions {
  /** When the callee is first looked at (isAlive), if it has not answered by then; then every `checkMs`. */
  firstLookMs?: number
  /** Told of each call a callee left unanswered (placement avoids that node until it shows it lives). */
  onUnanswered?: (node: string) => void
}

/**
 * Requests and answers between gateway nodes over NodeSignals: an API node asks the worker that holds a
 * session to act on it. A call ends with the callee's answer, with its error (same code, so the same HTTP
 * status), or with CallUnanswered (503 `worker_unavailable`) once the callee is no longer alive (looked at
 * `firstLookMs` after the call, then every `checkMs`) or `timeoutMs` passed. Calls are posted (NodeSignals.post)
 * where the signals can: an unanswered call is then withdrawn, which tells whether the callee ever took it.
 */
export class NodeCalls {
  private readonly waiting = new Map<string, Waiting>()
  private readonly handlers = new Map<string, Handler>()

  constructor(
    /** This node's id. */
    readonly node: string,
    private readonly signals: NodeSignals,
    private readonly isAlive: (node: string) => Promise<boolean>,
    private readonly checkMs: number,
    private readonly options: NodeCallOptions = {},
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
    const message: CallMessage = { kind: 'call', callId, from: this.node, method, params }
    let ended = false
    let timer: NodeJS.Timeout | undefined
    let look: NodeJS.Timeout | undefined
    try {
      const posted = this.signals.post
        ? await this.signals.post(to, message)
        : await this.signals.send(to, message).then(() => undefined)
      const abandoned = new Promise<never>((_, reject) => {
        let giving = false
        const give = async (why: 'dead' | 'timeout') => {
          if (ended || giving) return
          giving = true
          clearTimeout(timer)
          clearTimeout(look)
          // withdrawn: the callee never took it, and now never will; a withdrawal that failed proves nothing
          const taken = posted ? !(await posted.withdraw().catch(() => false)) : true
          this.options.onUnanswered?.(to)
          reject(
            new CallUnanswered(to, method, taken, why, unansweredMessage(to, method, taken, why, timeoutMs)),
          )
        }
        timer = setTimeout(() => void give('timeout'), timeoutMs)
        const lookIn = (ms: number) => {
          // (a look in flight when the call ended must not start another)
          if (ended || giving) return
          look = setTimeout(
            () =>
              void this.isAlive(to).then(
                (alive) => (alive ? lookIn(this.checkMs) : give('dead')),
                () => lookIn(this.checkMs),
              ),
            ms,
          )
        }
        lookIn(Math.min(this.options.firstLookMs ?? this.checkMs, this.checkMs))
      })
      abandoned.catch(() => {})
      return (await Promise.race([answered, abandoned])) as T
    } finally {
      ended = true
      clearTimeout(timer)
      clearTimeout(look)
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

function unansweredMessage(
  to: string,
  method: string,
  taken: boolean,
  why: 'dead' | 'timeout',
  timeoutMs: number,
): string {
  if (why === 'dead')
    return taken
      ? `the node holding it (${to}) stopped while handling ${method}; retry`
      : `the node holding it (${to}) stopped before it took ${method} (nothing was done); retry`
  return taken
    ? `node ${to} did not answer ${method} within ${timeoutMs / 1000} s`
    : `node ${to} did not take ${method} within ${timeoutMs / 1000} s (nothing was done); retry`
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
