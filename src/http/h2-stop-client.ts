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
  // the response's END_STREAM (its empty trailers) is with nghttp2, or on its way there
  if (stream.sentTrailers !== undefined) stop()
  // else after the response's own listener (set when it was made) submitted them
  else stream.once('wantTrailers', stop)
}

/** Ends an HTTP/2 compat response (`end`, which writes its last bytes), then stops a client still sending. */
export function endThenStopClient(stream: ServerHttp2Stream, end: () => void): void {
  stopClientAfterEnd(stream)
  end()
}

/** Whether the stream is open and the client's END_STREAM has not come (nghttp2's view, before the request body
 * was read to its end). */
export const stillSending = (stream: ServerHttp2Stream): boolean =>
  !stream.closed && !stream.destroyed && stream.state?.remoteClose !== 1
