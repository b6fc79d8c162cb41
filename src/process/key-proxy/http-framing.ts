/**
 * Just enough HTTP/1.1 framing for a proxy that relays bytes (proxy-connection.ts): where a request's head ends
 * and what it says, where its body ends (Content-Length or chunked), and, on the way back, where each response
 * ends. Requests are read strictly (what this reads must be what the upstream reads: a request the two would frame
 * differently is refused); responses come from the fixed upstream and are only followed, never changed.
 */

/** A request or response the proxy refuses to read, with the status to answer. */
export class FramingError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/** How a message's body is delimited. */
export type BodyFraming =
  | { kind: 'none' }
  | { kind: 'length'; bytes: number }
  | { kind: 'chunked' }
  /** A response that ends when the upstream closes the connection. */
  | { kind: 'close' }

export interface RequestHead {
  method: string
  target: string
  /** 0 or 1 (HTTP/1.x). */
  minor: number
  /** Every header line as sent (name as written, value trimmed), in order. */
  lines: Array<[string, string]>
  /** Lower-cased name to its first value (how the token is looked up). */
  first: Record<string, string>
  body: BodyFraming
  /** An `Upgrade` the agent asks for (`Connection: upgrade` with `Upgrade`). */
  upgrade: boolean
}

/** The longest request head taken (Node's http server takes 16 KB). */
export const maxHeadBytes = 64 * 1024

const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const requestLine = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([^\s]+) HTTP\/1\.([01])$/
// a field value: visible characters, spaces and tabs, obs-text; no CR, LF, NUL or other controls
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const badValue = /[\x00-\x08\x0a-\x1f\x7f]/

/** Where the head that starts at `from` ends (the index after its blank line), or -1 when it has not yet. */
export function headEnd(buf: Buffer, from = 0): number {
  const at = buf.indexOf('\r\n\r\n', from, 'latin1')
  return at < 0 ? -1 : at + 4
}

/** The request head in `text` (latin1, up to and without its blank line). */
export function parseRequestHead(text: string): RequestHead {
  const rows = text.split('\r\n')
  const match = requestLine.exec(rows[0] ?? '')
  if (!match) throw new FramingError(400, 'malformed request line')
  const [, method = '', target = '', minor = '1'] = match
  const lines: Array<[string, string]> = []
  // no prototype: a header may be named `constructor` or `__proto__`
  const first: Record<string, string> = Object.create(null)
  let lengths: string | undefined
  let chunked = false
  for (let i = 1; i < rows.length; i++) {
    const row = rows[i] ?? ''
    const colon = row.indexOf(':')
    const name = colon > 0 ? row.slice(0, colon) : ''
    // no obs-fold, no space before the colon, no bare CR or LF anywhere
    if (!token.test(name)) throw new FramingError(400, 'malformed header line')
    const value = row.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '')
    if (badValue.test(value)) throw new FramingError(400, 'control characters in a header value')
    const lower = name.toLowerCase()
    if (lower === 'content-length') {
      if (!/^\d{1,15}$/.test(value) || (lengths !== undefined && lengths !== value))
        throw new FramingError(400, 'invalid or conflicting Content-Length')
      lengths = value
    } else if (lower === 'transfer-encoding') {
      if (chunked || value.toLowerCase() !== 'chunked')
        throw new FramingError(501, 'only Transfer-Encoding: chunked is taken')
      chunked = true
    }
    lines.push([name, value])
    if (!(lower in first)) first[lower] = value
  }
  if (chunked && (lengths !== undefined || minor === '0'))
    throw new FramingError(400, 'Transfer-Encoding with Content-Length or in HTTP/1.0')
  const body: BodyFraming = chunked
    ? { kind: 'chunked' }
    : lengths !== undefined && Number(lengths) > 0
      ? { kind: 'length', bytes: Number(lengths) }
      : { kind: 'none' }
  const upgrade =
    first.upgrade !== undefined &&
    /(^|,)\s*upgrade\s*(,|$)/i.test(
      lines
        .filter(([n]) => /^connection$/i.test(n))
        .map(([, v]) => v)
        .join(','),
    )
  return { method, target, minor: Number(minor), lines, first, body, upgrade }
}

/** A response head's status and how its body is delimited (`head`: it answers a HEAD request). */
export function parseResponseHead(
  text: string,
  head: boolean,
): { status: number; body: BodyFraming; closes: boolean } {
  const rows = text.split('\r\n')
  const match = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(rows[0] ?? '')
  if (!match) throw new FramingError(502, 'malformed status line')
  const status = Number(match[2])
  // the upstream closes the connection after this answer (HTTP/1.0 without keep-alive is counted so too)
  let closes = match[1] === '0'
  let length: number | undefined
  let encoding: string | undefined
  for (let i = 1; i < rows.length; i++) {
    const row = rows[i] ?? ''
    const colon = row.indexOf(':')
    const name = row.slice(0, colon).toLowerCase()
    const value = row.slice(colon + 1).trim()
    if (name === 'connection') closes = /(^|,)\s*close\s*(,|$)/i.test(value)
    else if (name === 'content-length') length = Number(value)
    else if (name === 'transfer-encoding') encoding = encoding ? `${encoding},${value}` : value
  }
  return { status, body: responseBody(status, head, length, encoding), closes }
}

function responseBody(status: number, head: boolean, length?: number, encoding?: string): BodyFraming {
  if (status < 200 || status === 204 || status === 304 || head) return { kind: 'none' }
  if (encoding !== undefined)
    return /(^|,)\s*chunked\s*$/i.test(encoding) ? { kind: 'chunked' } : { kind: 'close' }
  if (length !== undefined && Number.isSafeInteger(length) && length >= 0)
    return length > 0 ? { kind: 'length', bytes: length } : { kind: 'none' }
  return { kind: 'close' }
}

/**
 * Follows a chunked body through the buffers it comes in: where it ends and how many data bytes it held. A
 * malformed one throws (FramingError 400).
 */
export class ChunkedBody {
  private state: 'size' | 'data' | 'cr' | 'lf' | 'trailer' = 'size'
  private line = ''
  private left = 0
  /** Data bytes so far (without the framing). */
  dataBytes = 0

  /** How many bytes of `buf` from `start` belong to the body, and whether it ended with them. */
  scan(buf: Buffer, start: number): { used: number; done: boolean } {
    let i = start
    while (i < buf.length) {
      if (this.state === 'data') {
        const take = Math.min(this.left, buf.length - i)
        i += take
        this.left -= take
        if (this.left === 0) this.state = 'cr'
      } else if (this.state === 'cr' || this.state === 'lf') {
        if (buf[i] !== (this.state === 'cr' ? 13 : 10)) throw new FramingError(400, 'malformed chunk')
        i++
        this.state = this.state === 'cr' ? 'lf' : 'size'
      } else {
        const lf = buf.indexOf(10, i)
        const end = lf < 0 ? buf.length : lf
        this.line += buf.toString('latin1', i, end)
        if (this.line.length > 4096) throw new FramingError(400, 'chunk line too long')
        i = lf < 0 ? buf.length : lf + 1
        if (lf < 0) break
        if (!this.line.endsWith('\r')) throw new FramingError(400, 'malformed chunk line')
        const line = this.line.slice(0, -1)
        this.line = ''
        if (this.state === 'trailer') {
          if (line === '') return { used: i - start, done: true }
          continue
        }
        const size = /^([0-9a-fA-F]{1,12})[ \t]*(;.*)?$/.exec(line)
        if (!size) throw new FramingError(400, 'malformed chunk size')
        this.left = Number.parseInt(size[1] ?? '', 16)
        this.dataBytes += this.left
        this.state = this.left === 0 ? 'trailer' : 'data'
      }
    }
    return { used: i - start, done: false }
  }
}
