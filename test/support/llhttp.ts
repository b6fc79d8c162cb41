import { createRequire } from 'node:module'

/**
 * Node's own llhttp (the parser node:http runs, through its `_http_common` binding), strict as node:http uses it
 * (`insecureHTTPParser: false`: no lenient flags): how an upstream frames a byte stream of requests, and how an
 * agent's client frames a stream of answers. The key proxy's framing tests compare the proxy's reading with it.
 */
interface Parser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void
  execute(buf: Buffer): number | (Error & { code: string; bytesParsed: number })
  [key: number]: unknown
}
interface Binding {
  HTTPParser: {
    new (): Parser
    REQUEST: number
    RESPONSE: number
    kOnHeaders: number
    kOnHeadersComplete: number
    kOnBody: number
    kOnMessageComplete: number
  }
  methods: string[]
}
const { HTTPParser, methods } = createRequire(import.meta.url)('_http_common') as Binding

export interface LlMessage {
  method: string | undefined
  url: string | undefined
  status: number | undefined
  minor: number
  /** Names and values as read (in order). */
  headers: Array<[string, string]>
  body: Buffer
  complete: boolean
  keepAlive: boolean
  upgrade: boolean
  /** Bytes of the stream read when the message completed. */
  endsAt: number
}

export interface LlResult {
  messages: LlMessage[]
  /** llhttp's error code, if it refused the stream. */
  error: string | undefined
}

/**
 * Frames `stream` as llhttp does, fed in `pieces` (byte offsets of message ends are kept). `skipBody(status)`,
 * asked for each answer's head in turn: no body follows it (it answers a HEAD request). Heads may be as large as `maxHead`.
 */
export function llhttpFrame(
  kind: 'request' | 'response',
  stream: Buffer,
  options: { pieces?: number; skipBody?: (status: number) => boolean; maxHead?: number } = {},
): LlResult {
  const parser = new HTTPParser()
  const messages: LlMessage[] = []
  let offset = 0
  // what node:http does: headers (and the url) may come in parts before the head completes, trailers after it
  let extra: string[] = []
  let extraUrl = ''
  parser[HTTPParser.kOnHeaders] = (headers: string[], url: string) => {
    extra = extra.concat(headers)
    extraUrl += url
  }
  parser[HTTPParser.kOnHeadersComplete] = (
    _major: number,
    minor: number,
    headers: string[] | undefined,
    method: number | undefined,
    url: string | undefined,
    status: number | undefined,
    _message: string,
    upgrade: boolean,
    keepAlive: boolean,
  ) => {
    const flat = headers ?? extra
    const fullUrl = url || extraUrl
    extra = []
    extraUrl = ''
    const pairs: Array<[string, string]> = []
    for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i] ?? '', flat[i + 1] ?? ''])
    const skip = kind === 'response' && (options.skipBody?.(status ?? 0) ?? false)
    messages.push({
      method: method === undefined ? undefined : methods[method],
      url: kind === 'request' ? fullUrl : undefined,
      status: kind === 'response' ? status : undefined,
      minor,
      headers: pairs,
      body: Buffer.alloc(0),
      complete: false,
      keepAlive,
      upgrade,
      endsAt: -1,
    })
    return skip ? 1 : 0
  }
  parser[HTTPParser.kOnBody] = (chunk: Buffer) => {
    const last = messages.at(-1)
    if (last) last.body = Buffer.concat([last.body, chunk])
  }
  parser[HTTPParser.kOnMessageComplete] = () => {
    // trailers: not compared
    extra = []
    extraUrl = ''
    const last = messages.at(-1)
    if (last) {
      last.complete = true
      last.endsAt = offset
    }
  }
  parser.initialize(
    kind === 'request' ? HTTPParser.REQUEST : HTTPParser.RESPONSE,
    {},
    options.maxHead ?? 80 * 1024,
    0,
  )
  const step = Math.max(1, Math.ceil(stream.length / (options.pieces ?? 1)))
  for (let at = 0; at < stream.length; at += step) {
    const piece = stream.subarray(at, Math.min(stream.length, at + step))
    // a message completing in this piece ends somewhere in it: with one-byte pieces, exactly at `offset`
    offset = at + piece.length
    const r = parser.execute(piece)
    if (r instanceof Error) return { messages, error: r.code }
    if (r < piece.length) return { messages, error: 'stopped (upgrade)' }
    if (messages.at(-1)?.upgrade && messages.at(-1)?.complete) return { messages, error: 'stopped (upgrade)' }
  }
  return { messages, error: undefined }
}
