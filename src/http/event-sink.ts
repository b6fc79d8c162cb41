/**
 * Where a streamed response's messages go, whatever carries them: stored events as SSE or NDJSON
 * (event-stream.ts), /agent/stream frames over an HTTP/2 or HTTP/1.1 body or a WebSocket
 * (compat/agent-stream-h2.ts, agent-stream-ws.ts). Producers write to a sink and never see the transport.
 */
export interface EventSink<T> {
  /** Resolves once the transport took the message (backpressure: the caller waits while the client is slow). */
  write(message: T): Promise<void>
  /** Ends the server's side. */
  end(): void
  /** The client left or the sink ended: further writes are dropped. */
  readonly closed: boolean
}
