import { constants, type ServerHttp2Stream } from 'node:http2'

/**
 * Tells an HTTP/2 client that is still sending to stop without error: RST_STREAM NO_ERROR *after* the response's
 * END_STREAM (RFC 9113 section 8.1), whether the response has ended already or ends later. Not before:
 * Http2ServerResponse sends END_STREAM only when nghttp2, past the last DATA, asks for trailers (`wantTrailers`);
 * a `stream.close()` as soon as the writable side finished went out first (nghttp2 sends RST_STREAM ahead of
 * queued DATA), so the response never ended, and curl then dropped frames it had received (an empty 200 body,
 * exit 0). A client that ended its side needs no reset: the END_STREAM closes the stream.
 */
export function stopClientAfterEnd(stream: ServerHttp2Stream): void {
  if (!stillSending(stream)) return
  // the next loop turn is after the send that asked for the trailers and after their submission (Node marks them
  // sent, then submits them on the next turn: `sentTrailers` alone is not yet the END_STREAM); a reset flushes what
  // nghttp2 still holds first
  const stop = () =>
    setImmediate(() => {
      if (stillSending(stream)) stream.close(constants.NGHTTP2_NO_ERROR)
    })
  // the response's END_STREAM (its empty trailers, or its HEADERS when it has no body) is with nghttp2, or on its
  // way there
  if (stream.sentTrailers !== undefined || endedWithHeaders(stream)) stop()
  else {
    // else after the response's own listener (set when it was made) submitted them
    stream.once('wantTrailers', stop)
    // or, an answer that turns out to have no body, once its HEADERS went with END_STREAM: no trailers are asked
    if (!stream.headersSent)
      afterRespond(stream, () => {
        if (endedWithHeaders(stream)) stop()
      })
  }
}

/**
 * Runs `then` right after the stream's response HEADERS were handed to nghttp2: Node has no event for it (a HEAD
 * stream's writable side finished when it came, before any answer; a 204's finishes on a later turn).
 */
export function afterRespond(stream: ServerHttp2Stream, then: () => void): void {
  const respond = stream.respond
  stream.respond = ((...args: Parameters<typeof respond>) => {
    stream.respond = respond
    respond.apply(stream, args)
    then()
  }) as typeof respond
}

/**
 * Whether the response went as HEADERS with END_STREAM: an answer to HEAD, a 204, 205 or 304 (Node's own rule in
 * `respond`). nghttp2 then never asks for trailers (`wantTrailers`), which the END_STREAM of every other compat
 * response waits for.
 */
export function endedWithHeaders(stream: ServerHttp2Stream): boolean {
  if (!stream.headersSent) return false
  const status = Number(stream.sentHeaders[':status'])
  return headRequest(stream) || status === 204 || status === 205 || status === 304
}

/** A HEAD request's stream: Node marks it so (not in its types), and sends any answer to it as headers alone. */
const headRequest = (stream: ServerHttp2Stream): boolean =>
  (stream as ServerHttp2Stream & { headRequest?: boolean }).headRequest === true

/** Ends an HTTP/2 compat response (`end`, which writes its last bytes), then stops a client still sending. */
export function endThenStopClient(stream: ServerHttp2Stream, end: () => void): void {
  stopClientAfterEnd(stream)
  end()
}

/** Whether the stream is open and the client's END_STREAM has not come (nghttp2's view, before the request body
 * was read to its end). */
export const stillSending = (stream: ServerHttp2Stream): boolean =>
  !stream.closed && !stream.destroyed && stream.state?.remoteClose !== 1
