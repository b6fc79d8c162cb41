import type { Http2ServerRequest } from 'node:http2'
import { type BodyClockLimits, checkTransfer, unseenTransfer } from './body-clock.js'
import { afterRespond, endedWithHeaders, stillSending, stopClientAfterEnd } from './h2-stop-client.js'

/** How much of a body the gateway reads and drops after answering it: the body clock's rule and a byte bound. */
export interface AnsweredBodyLimits extends BodyClockLimits {
  maxBytes: number
}

/** The byte bound of BODY_LIMIT_BYTES: a body a few times too large (the usual mistake) is still read to its end. */
export const answeredBodyBytes = (bodyLimitBytes: number): number => 4 * bodyLimitBytes

/**
 * An HTTP/2 request answered before its body arrived whole (401, 404, 405, 413 by its content-length, 415: nobody
 * read it) has the rest of its body read and dropped once the answer ended, at most `maxBytes` of it and only while
 * it keeps coming (the body clock's BODY_IDLE_SECONDS and BODY_MIN_BYTES_PER_SECOND); past either, or at once when
 * its declared length is longer, the client is told to stop (RST_STREAM NO_ERROR after the answer's END_STREAM).
 * Node resets an unread stream as soon as its answer ended, which RFC 9113 section 8.1 allows, but a client that
 * reads its answer only after sending its body takes that reset for a failed upload and drops the answer: curl 7
 * (Debian 12's 7.88) exits 92 "Stream error in the HTTP/2 framing layer" without the 401 or 413 it was sent.
 * Also bounds what a body still read (a 413 found while reading) may send after its answer: it went on unbounded.
 * An answer without a body (to HEAD; a 204 or 304) ends with its HEADERS and nghttp2 asks for no trailers: such a
 * stream is drained the same once its HEADERS went; before, its upload was never read nor stopped (the client hung,
 * its window full).
 */
export function drainAfterAnswer(request: Http2ServerRequest, limits: AnsweredBodyLimits): void {
  const { stream } = request
  if (stream.endAfterHeaders) return
  let draining = false
  const drain = () => {
    if (draining || !stillSending(stream)) return
    draining = true
    readAndDrop(request, limits)
  }
  // the answer's last DATA is going out (compat responses ask for their trailers, i.e. END_STREAM, then); this
  // listener runs after the response's own one, which submits them on the next turn: before Node's reset
  stream.once('wantTrailers', drain)
  // an answer without a body (HEAD, 204, 304) goes as HEADERS with END_STREAM and no trailers are asked; Node left
  // such a stream open for good (a HEAD's writable side ends when it comes), its client's window full. Drained at
  // once, before Node's own reset of a stream nobody read (a 204's, on a later turn) could come
  const drainHeadersOnly = () => {
    if (endedWithHeaders(stream)) drain()
  }
  // (answered already when the handler answered at once, in the same 'request' event)
  if (stream.headersSent) drainHeadersOnly()
  else afterRespond(stream, drainHeadersOnly)
}

/** Reads and drops the rest of an answered request's body within `limits`; past them, stops its client. */
function readAndDrop(request: Http2ServerRequest, limits: AnsweredBodyLimits): void {
  const { stream } = request
  const declared = Number(request.headers['content-length'])
  if (declared > limits.maxBytes) {
    stopClientAfterEnd(stream)
    return
  }
  const seen = unseenTransfer()
  seen.startedAt = seen.lastByteAt = performance.now()
  let timer: NodeJS.Timeout | undefined
  const stop = () => {
    clearTimeout(timer)
    stream.off('data', onData)
    stopClientAfterEnd(stream)
  }
  const check = () => {
    const checked = checkTransfer(seen, limits, performance.now())
    if (checked.stalled) stop()
    else timer = setTimeout(check, Math.ceil(checked.dueInMs))
  }
  const onData = (chunk: Buffer) => {
    seen.received += chunk.length
    seen.lastByteAt = performance.now()
    if (seen.received > limits.maxBytes) stop()
  }
  stream.on('data', onData)
  // flowing, the request as well (what it still gets nobody reads): Node does not reset a stream that flows
  request.resume()
  stream.resume()
  stream.once('close', () => clearTimeout(timer))
  check()
}
