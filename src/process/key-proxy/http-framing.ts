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
  /** The agent closes the connection after this request (HTTP/1.0 without keep-alive, `Connection: close`). */
  closes: boolean
}

/** The longest request head taken (Node's http server takes 16 KB). */
export const maxHeadBytes = 64 * 1024

const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
// methods a model API is called with (llhttp refuses unknown ones; CONNECT is read to be refused)
const requestLine = /^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|CONNECT) ([\x21-\x7e]+) HTTP\/1\.([01])$/
// a field value: visible characters, spaces and tabs, obs-text; no CR, LF, NUL or other controls
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const badValue = /[\x00-\x08\x0a-\x1f\x7f]/

/** Where the head that starts at `from` ends (the index after its blank line), or -1 when it has not yet. */
export function headEnd(buf: Buffer, from = 0): number {
  const at = buf.indexOf('\r\n\r\n', from, 'latin1')
  return at < 0 ? -1 : at + 4
}

/**
 * A header (or trailer) line's name and value (trimmed), read as llhttp reads it or refused: a token name right
 * before the colon (no obs-fold, no space before it), no control characters but tabs in the value.
 */
export function headerField(row: string): [string, string] {
  const colon = row.indexOf(':')
  const name = colon > 0 ? row.slice(0, colon) : ''
  if (!token.test(name)) throw new FramingError(400, 'malformed header line')
  const value = trimmed(row, colon + 1)
  if (badValue.test(value)) throw new FramingError(400, 'control characters in a header value')
  return [name, value]
}

const blank = (c: number) => c === 32 || c === 9

/** `row` from `from` on without the spaces and tabs around it (a loop: a regex here cost a request microseconds). */
function trimmed(row: string, from: number): string {
  let start = from
  let end = row.length
  while (start < end && blank(row.charCodeAt(start))) start++
  while (end > start && blank(row.charCodeAt(end - 1))) end--
  return row.slice(start, end)
}

/** A Connection option as a whole list element (compiled once: building it per request cost microseconds). */
const connectionOption = {
  close: /(^|,)[ \t]*close[ \t]*(,|$)/i,
  'keep-alive': /(^|,)[ \t]*keep-alive[ \t]*(,|$)/i,
  upgrade: /(^|,)[ \t]*upgrade[ \t]*(,|$)/i,
}

/** Whether a Connection header's values (joined) hold `option`. */
const names = (values: string, option: keyof typeof connectionOption) =>
  values !== '' && connectionOption[option].test(values)

/** Whether the sender closes the connection after this message, as llhttp decides it (not keep-alive). */
function closes(minor: string, connection: string): boolean {
  return minor === '0' ? !names(connection, 'keep-alive') : names(connection, 'close')
}

/** The request head in `text` (latin1, up to and without its blank line). */
export function parseRequestHead(text: string): RequestHead {
  const rows = text.split('\r\n')
  const match = requestLine.exec(rows[0] ?? '')
  if (!match) throw new FramingError(400, 'malformed request line or a method not served')
  const [, method = '', target = '', minor = '1'] = match
  // origin form; absolute form, `*` and a CONNECT's authority are read to be refused (proxy-server.ts)
  if (!(target.startsWith('/') || /^https?:\/\//i.test(target) || (target === '*' && method === 'OPTIONS')))
    if (method !== 'CONNECT') throw new FramingError(400, 'malformed request target')
  const lines: Array<[string, string]> = []
  // no prototype: a header may be named `constructor` or `__proto__`
  const first: Record<string, string> = Object.create(null)
  let length: string | undefined
  let chunked = false
  let connection = ''
  for (let i = 1; i < rows.length; i++) {
    const [name, value] = headerField(rows[i] ?? '')
    const lower = name.toLowerCase()
    if (lower === 'content-length') {
      // llhttp refuses a second one even when it repeats the first
      if (!/^\d{1,15}$/.test(value) || length !== undefined)
        throw new FramingError(400, 'invalid or repeated Content-Length')
      length = value
    } else if (lower === 'transfer-encoding') {
      if (chunked || value.toLowerCase() !== 'chunked')
        throw new FramingError(501, 'only Transfer-Encoding: chunked is taken')
      chunked = true
    } else if (lower === 'connection') connection = connection ? `${connection},${value}` : value
    lines.push([name, value])
    if (!(lower in first)) first[lower] = value
  }
  if (chunked && (length !== undefined || minor === '0'))
    throw new FramingError(400, 'Transfer-Encoding with Content-Length or in HTTP/1.0')
  const body: BodyFraming = chunked
    ? { kind: 'chunked' }
    : length !== undefined && Number(length) > 0
      ? { kind: 'length', bytes: Number(length) }
      : { kind: 'none' }
  const upgrade = first.upgrade !== undefined && names(connection, 'upgrade')
  return {
    method,
    target,
    minor: Number(minor),
    lines,
    first,
    body,
    upgrade,
    closes: closes(minor, connection),
  }
}

/**
 * A response head's status, how its body is delimited (`head`: it answers a HEAD request) and whether the upstream
 * closes the connection after it. One llhttp would not read (or would read otherwise) throws: the tracker then
 * stops following the connection's answers (response-tracker.ts).
 */
export function parseResponseHead(
  text: string,
  head: boolean,
): { status: number; body: BodyFraming; closes: boolean } {
  const rows = text.split('\r\n')
  const match = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(rows[0] ?? '')
  if (!match || badValue.test(match[3] ?? '')) throw new FramingError(502, 'malformed status line')
  const [, minor = '1', code = ''] = match
  const status = Number(code)
  // 000-099: no interim answer to llhttp's reader, nor a final one to the tracker
  if (status < 100) throw new FramingError(502, 'status below 100')
  let length: string | undefined
  let encoding: string | undefined
  let connection = ''
  for (let i = 1; i < rows.length; i++) {
    const [name, value] = headerField(rows[i] ?? '')
    const lower = name.toLowerCase()
    if (lower === 'connection') connection = connection ? `${connection},${value}` : value
    else if (lower === 'content-length') {
      if (!/^\d{1,15}$/.test(value) || length !== undefined) throw new FramingError(502, 'bad Content-Length')
      length = value
    } else if (lower === 'transfer-encoding') encoding = encoding ? `${encoding},${value}` : value
  }
  if (encoding !== undefined && length !== undefined)
    throw new FramingError(502, 'Transfer-Encoding with Content-Length')
  // an empty coding (`Transfer-Encoding:` with no value, `chunked,`) is refused by newer llhttp (Node 24's)
  if (encoding !== undefined && !encoding.split(',').every((coding) => codingToken.test(coding)))
    throw new FramingError(502, 'malformed Transfer-Encoding')
  return { status, body: responseBody(status, head, length, encoding), closes: closes(minor, connection) }
}

/** One transfer coding of a Transfer-Encoding list: a token, optionally padded (its parameters are not taken). */
const codingToken = /^[ \t]*[!#$%&'*+.^_`|~0-9A-Za-z-]+[ \t]*$/

function responseBody(status: number, head: boolean, length?: string, encoding?: string): BodyFraming {
  if (status < 200 || status === 204 || status === 304 || head) return { kind: 'none' }
  if (encoding !== undefined)
    return /(^|,)[ \t]*chunked[ \t]*$/i.test(encoding) ? { kind: 'chunked' } : { kind: 'close' }
  if (length !== undefined)
    return Number(length) > 0 ? { kind: 'length', bytes: Number(length) } : { kind: 'none' }
  return { kind: 'close' }
}
