import { describe, expect, it } from 'vitest'
import { FramingError, parseRequestHead, type RequestHead } from '../../src/process/key-proxy/http-framing.js'
import { RequestReader } from '../../src/process/key-proxy/request-reader.js'
import { ResponseTracker } from '../../src/process/key-proxy/response-tracker.js'
import { answerStream, requestStream } from '../support/framing-streams.js'
import { Random } from '../support/fuzz/random.js'
import { type LlResult, llhttpFrame } from '../support/llhttp.js'

/**
 * The key proxy's request and answer framing (request-reader.ts, response-tracker.ts) against Node's strict llhttp
 * (test/support/llhttp.ts), on seeded streams of valid and malformed requests and answers fed whole and split at
 * every byte. Upstream connections are pooled across agents: if the proxy and the upstream disagree on where a
 * request or an answer ends, one agent's bytes are read as another's request or answer. So every request the
 * proxy forwards must be framed alike by llhttp, every stream llhttp refuses must be refused by the proxy, and an
 * answer the tracker calls complete must be complete where llhttp says.
 */

const latin1 = (s: string) => Buffer.from(s, 'latin1')

// ---- requests ----

interface ProxyMessage {
  head: RequestHead
  /** The body's bytes as they would go upstream (its framing included). */
  body: Buffer
  complete: boolean
}

interface ProxyVerdict {
  messages: ProxyMessage[]
  /** The status of the refusal that ended the reading, if any. */
  refused: number | undefined
  /** It stopped reading after a request (an upgrade waits for its answer). */
  stopped: boolean
  /** Bytes of a head not yet whole wait for more (nothing of them was forwarded). */
  waiting?: boolean
}

/** Reads `pieces` as proxy-connection.ts does (its RequestReader; every request but CONNECT as if forwarded). */
function proxyRead(pieces: Buffer[]): ProxyVerdict {
  const reader = new RequestReader()
  const messages: ProxyMessage[] = []
  let pending: Buffer = Buffer.alloc(0)
  for (const piece of pieces) {
    pending = pending.length > 0 ? Buffer.concat([pending, piece]) : piece
    while (pending.length > 0) {
      const last = messages.at(-1)
      if (last && !reader.inBody && last.head.upgrade) return { messages, refused: undefined, stopped: true }
      let step: ReturnType<RequestReader['next']>
      try {
        step = reader.next(pending)
      } catch (err) {
        if (!(err instanceof FramingError)) throw err
        return { messages, refused: err.status, stopped: false }
      }
      // what follows a request that asked to close is dropped: the connection ends after its answer
      if (step.kind === 'after-close') return { messages, refused: undefined, stopped: true }
      // CONNECT is refused (405) and the connection ends: nothing of it or after it goes upstream
      if (step.kind === 'head' && step.head.method === 'CONNECT')
        return { messages, refused: 405, stopped: false }
      if (step.kind === 'head') {
        messages.push({ head: step.head, body: Buffer.alloc(0), complete: step.head.body.kind === 'none' })
        reader.expectBody(step.head.body)
      } else if (step.kind === 'body' && last) {
        last.body = Buffer.concat([last.body, pending.subarray(0, step.used)])
        last.complete = step.done
      }
      pending = pending.subarray(step.used)
      if (step.kind === 'more') break
    }
  }
  const last = messages.at(-1)
  const stopped = !!last && last.complete && last.head.upgrade
  return { messages, refused: undefined, stopped, waiting: pending.length > 0 }
}

/** The head as proxy-server.ts writes it upstream (each line as read; the credential swap aside). */
const forwardedHead = (h: RequestHead) =>
  `${h.method} ${h.target} HTTP/1.${h.minor}\r\n${h.lines.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`

/** Every disagreement between the proxy's reading of `stream` and llhttp's, as text (none: they agree). */
function requestDisagreements(stream: Buffer): string[] {
  const wrong: string[] = []
  const ll = llhttpFrame('request', stream)
  const proxy = proxyRead([stream])
  const llHeads = ll.messages.length
  // what the proxy forwards (the heads it took, rewritten, and their bodies' bytes), as the upstream reads it
  const forwarded = Buffer.concat(proxy.messages.flatMap((m) => [latin1(forwardedHead(m.head)), m.body]))
  const up = llhttpFrame('request', forwarded)
  proxy.messages.forEach((m, i) => {
    const seen = ll.messages[i]
    const upstream = up.messages[i]
    if (!seen) {
      wrong.push(`request ${i}: the proxy took a head llhttp did not read`)
      return
    }
    if (!upstream) {
      wrong.push(`request ${i}: the upstream did not read the head the proxy sent`)
      return
    }
    for (const [who, msg] of [
      ['llhttp', seen],
      ['upstream', upstream],
    ] as const) {
      if (msg.method !== m.head.method || msg.url !== m.head.target || msg.minor !== m.head.minor)
        wrong.push(`request ${i}: ${who} read ${msg.method} ${msg.url} 1.${msg.minor}`)
      if (JSON.stringify(msg.headers) !== JSON.stringify(m.head.lines))
        wrong.push(`request ${i}: ${who} read headers ${JSON.stringify(msg.headers)}`)
    }
    if (m.complete && !(seen.complete && upstream.complete))
      wrong.push(
        `request ${i}: complete for the proxy, not for llhttp (${seen.complete}/${upstream.complete})`,
      )
    if (m.complete && !seen.body.equals(upstream.body))
      wrong.push(`request ${i}: the upstream read another body`)
    if (!m.complete && i < proxy.messages.length - 1)
      wrong.push(`request ${i}: incomplete, yet another followed`)
  })
  if (up.error && !(up.error.startsWith('stopped') && proxy.stopped) && proxy.refused === undefined)
    wrong.push(`the upstream refused what the proxy sent: ${up.error}`)
  if (up.messages.length > proxy.messages.length)
    wrong.push('the upstream read more requests than the proxy sent')
  const proxyEnd =
    proxy.refused !== undefined || proxy.stopped || proxy.waiting || !proxy.messages.at(-1)?.complete
  if (ll.error && !ll.error.startsWith('stopped') && !proxyEnd)
    wrong.push(`llhttp refused (${ll.error}) what the proxy read whole`)
  if (!ll.error && proxy.refused === undefined && !proxy.stopped && proxy.messages.length < llHeads)
    wrong.push(`llhttp read ${llHeads} requests, the proxy ${proxy.messages.length}`)
  return wrong
}

const oneByte = Array.from({ length: 256 }, (_, b) => Buffer.from([b]))
/** `stream` a byte at a time. */
const bytewise = (stream: Buffer) => Array.from(stream, (b) => oneByte[b]!)

/**
 * Runs `check` with errors that capture no stack: the reader refuses a malformed stream by throwing (FramingError),
 * at every split of it, and capturing those stacks was a third of the checks' CPU. What is asserted is unchanged.
 */
function withoutStacks<T>(check: () => T): T {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return check()
  } finally {
    Error.stackTraceLimit = limit
  }
}

/** The proxy reads a stream alike however it comes in pieces. */
function splitDisagreements(stream: Buffer, random: Random): string[] {
  const whole = JSON.stringify(summary(proxyRead([stream])))
  const splits: Buffer[][] = [bytewise(stream)]
  for (let k = 1; k < stream.length; k++) splits.push([stream.subarray(0, k), stream.subarray(k)])
  for (let n = 0; n < 4; n++) {
    const pieces: Buffer[] = []
    for (let at = 0; at < stream.length; ) {
      const len = 1 + random.int(40)
      pieces.push(stream.subarray(at, at + len))
      at += len
    }
    splits.push(pieces)
  }
  for (const pieces of splits) {
    const got = JSON.stringify(summary(proxyRead(pieces)))
    if (got !== whole) return [`split as ${pieces.map((p) => p.length).join('+')}: ${got} != ${whole}`]
  }
  return []
}

const summary = (v: ProxyVerdict) => ({
  refused: v.refused,
  stopped: v.stopped,
  // an unfinished body's bytes before a refusal depend on where the pieces broke (they were forwarded as they came)
  messages: v.messages.map((m) => [
    forwardedHead(m.head),
    m.complete ? m.body.toString('latin1') : '',
    m.complete,
  ]),
})

// ---- answers ----

/** Bytes read when each answer was through for the tracker, and whether it can still follow (else unpoolable). */
function trackerRead(
  requests: Array<{ head: boolean }>,
  pieces: Buffer[],
): { ends: number[]; poolable: boolean } {
  const tracker = new ResponseTracker({ idle: () => {}, upgradeDecided: () => {} })
  for (const r of requests) tracker.expect({ head: r.head, upgrade: false })
  const ends: number[] = []
  let read = 0
  for (const piece of pieces) {
    const before = tracker.outstanding
    tracker.scan(piece)
    read += piece.length
    for (let k = tracker.outstanding; k < before; k++) ends.push(read)
  }
  return { ends, poolable: tracker.idle && !tracker.closing }
}

/** The final answers' ends as llhttp's client reads them (1xx but 101 are interim: not answers). */
function llhttpAnswers(requests: Array<{ head: boolean }>, stream: Buffer): { ll: LlResult; ends: number[] } {
  // which request a message answers: the next one once a final answer (not 1xx but 101) came
  let answering = 0
  const ll = llhttpFrame('response', stream, {
    pieces: stream.length,
    skipBody: (status) => {
      const head = requests[answering]?.head ?? false
      if (status >= 200 || status === 101) answering++
      return head
    },
  })
  const ends = ll.messages
    .filter((m) => m.complete && ((m.status ?? 0) >= 200 || m.status === 101))
    .map((m) => m.endsAt)
  return { ll, ends }
}

function answerDisagreements(requests: Array<{ head: boolean }>, stream: Buffer): string[] {
  const wrong: string[] = []
  const { ll, ends } = llhttpAnswers(requests, stream)
  const whole = trackerRead(requests, [stream])
  const bytes = trackerRead(requests, bytewise(stream))
  // with the whole stream in one piece, every end is at its length; byte by byte, each end is exact
  if (JSON.stringify(whole.ends) !== JSON.stringify(bytes.ends.map(() => stream.length)))
    wrong.push(`whole ${whole.ends} vs byte by byte ${bytes.ends}`)
  bytes.ends.forEach((end, i) => {
    if (ends[i] !== end) wrong.push(`answer ${i}: ends at ${end} for the tracker, at ${ends[i]} for llhttp`)
  })
  if (bytes.poolable) {
    const last = ll.messages.at(-1)
    if (ll.error) wrong.push(`poolable, yet llhttp refused the answers (${ll.error})`)
    if (ends.length !== requests.length || ends.at(-1) !== stream.length)
      wrong.push(
        `poolable, yet llhttp read ${ends.length} answers ending at ${ends.at(-1)} of ${stream.length}`,
      )
    // (llhttp decides keep-alive before it hears that no body follows: a HEAD answer without a length is no close)
    if (!last?.keepAlive && !requests.at(-1)?.head)
      wrong.push('poolable, yet llhttp reads that the upstream closes')
  }
  return wrong
}

// ---- the tests ----

describe('the key proxy framing against llhttp', () => {
  // 1,500 streams, each read whole, byte by byte and at every 2-way split: 26-28 s at load 14-17 (session 37)
  it('reads every generated request stream as llhttp does, refusing what it refuses, however it is split', {
    timeout: 120_000,
  }, () => {
    const random = new Random(0x5eed_f00d)
    const failures: string[] = []
    let refused = 0
    let pipelined = 0
    for (let n = 0; n < 1500 && failures.length < 5; n++) {
      const stream = requestStream(random)
      const wrong = withoutStacks(() => [
        ...requestDisagreements(stream),
        ...splitDisagreements(stream, random),
      ])
      if (wrong.length > 0)
        failures.push(`${JSON.stringify(stream.toString('latin1'))}\n  ${wrong.join('\n  ')}`)
      const read = proxyRead([stream])
      if (read.refused !== undefined) refused++
      if (read.messages.filter((m) => m.complete).length > 1) pipelined++
    }
    expect(failures).toEqual([])
    // the corpus holds both kinds, and pipelined requests read whole
    expect(refused).toBeGreaterThan(200)
    expect(refused).toBeLessThan(1400)
    expect(pipelined).toBeGreaterThan(100)
  })

  it('follows every generated answer stream where llhttp ends each answer, or gives the connection up', () => {
    const random = new Random(0xa11_5eed)
    const failures: string[] = []
    let poolable = 0
    for (let n = 0; n < 1500 && failures.length < 5; n++) {
      const { requests, stream } = answerStream(random)
      const wrong = withoutStacks(() => answerDisagreements(requests, stream))
      if (wrong.length > 0)
        failures.push(
          `${JSON.stringify(requests)} ${JSON.stringify(stream.toString('latin1'))}\n  ${wrong.join('\n  ')}`,
        )
      if (trackerRead(requests, [stream]).poolable) poolable++
    }
    expect(failures).toEqual([])
    expect(poolable).toBeGreaterThan(100)
  })
})

describe('the disagreements with llhttp the generated streams found (each refused or given up now)', () => {
  const post = (headers: string, body = '') =>
    `POST /openai/responses HTTP/1.1\r\nHost: x\r\n${headers}\r\n${body}`
  const chunked = (body: string) => post('Transfer-Encoding: chunked\r\n', body)
  const next = 'GET /openai/models HTTP/1.1\r\nHost: x\r\n\r\n'
  it.each([
    ['a method llhttp does not know', `FOO /openai/x HTTP/1.1\r\nHost: x\r\n\r\n${next}`],
    ['PRI (HTTP/2 preface) as HTTP/1.1', `PRI / HTTP/1.1\r\nHost: x\r\n\r\n${next}`],
    ['DEL in the target', `GET /openai/a\x7fb HTTP/1.1\r\nHost: x\r\n\r\n${next}`],
    ['obs-text in the target', `GET /openai/a\x85b HTTP/1.1\r\nHost: x\r\n\r\n${next}`],
    ['an authority target on GET', `GET h:443 HTTP/1.1\r\nHost: x\r\n\r\n${next}`],
    ['a repeated, equal Content-Length', post('Content-Length: 2\r\nContent-Length: 2\r\n', `ab${next}`)],
    ['a space after a chunk size', chunked(`2 \r\nab\r\n0\r\n\r\n${next}`)],
    ['a control character in a chunk extension', chunked(`2;a\x01\r\nab\r\n0\r\n\r\n${next}`)],
    ['a space in a chunk extension value', chunked(`2;a=b c\r\nab\r\n0\r\n\r\n${next}`)],
    ['a trailer that is no header line', chunked(`2\r\nab\r\n0\r\nbad line\r\n\r\n${next}`)],
    ['an obs-folded trailer', chunked(`2\r\nab\r\n0\r\nX: a\r\n b\r\n\r\n${next}`)],
  ])('%s', (_name, text) => {
    const stream = latin1(text)
    expect(requestDisagreements(stream)).toEqual([])
    const read = proxyRead([stream])
    expect(read.refused).toBeDefined()
    // the request after it never goes upstream
    expect(read.messages.some((m) => m.head.target === '/openai/models')).toBe(false)
  })

  it.each([
    ['a request after HTTP/1.0 without keep-alive', `GET /openai/x HTTP/1.0\r\nHost: x\r\n\r\n${next}`],
    [
      'a request after Connection: close (in a second Connection header)',
      post('Connection: x\r\nConnection: close\r\n', next),
    ],
  ])('%s: dropped unread, not answered (RFC 9112 9.6)', (_name, text) => {
    const stream = latin1(text)
    expect(requestDisagreements(stream)).toEqual([])
    const read = proxyRead([stream])
    expect(read).toMatchObject({ refused: undefined, stopped: true })
    expect(read.messages.map((m) => m.head.target)).toEqual([
      text.startsWith('GET') ? '/openai/x' : '/openai/responses',
    ])
  })

  it('reads pipelined HTTP/1.0 requests with keep-alive, as llhttp does', () => {
    const stream = latin1(`GET /openai/x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n${next}`)
    expect(requestDisagreements(stream)).toEqual([])
    expect(proxyRead([stream]).messages.map((m) => m.complete)).toEqual([true, true])
  })

  const ok = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'
  it.each([
    ['a repeated Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx'],
    ['Content-Length 1e1', 'HTTP/1.1 200 OK\r\nContent-Length: 1e1\r\n\r\nxxxxxxxxxx'],
    ['Content-Length +1', 'HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx'],
    ['an empty Content-Length', `HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n${ok}`],
    [
      'Transfer-Encoding with Content-Length',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n',
    ],
    ['a header line with a space before its colon', 'HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\nx'],
    ['an obs-folded header line', 'HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n'],
    ['a bad trailer', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: \x00\r\n\r\n'],
    ['a control character in the reason', 'HTTP/1.1 200 \x01\r\nContent-Length: 0\r\n\r\n'],
    ['a status below 100 (no interim answer)', `HTTP/1.1 099 OK\r\nContent-Length: 38\r\n\r\n${ok}`],
    ['a 101 to a request that asked for no upgrade', `HTTP/1.1 101 Switching\r\n\r\n${ok}`],
    [
      'Connection: close, then keep-alive',
      'HTTP/1.1 200 OK\r\nConnection: close\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n',
    ],
    ['HTTP/1.0 with Connection: foo', 'HTTP/1.0 200 OK\r\nConnection: foo\r\nContent-Length: 0\r\n\r\n'],
    // Node 24's llhttp refuses these (HPE_INVALID_TRANSFER_ENCODING), Node 20's reads them
    ['an empty Transfer-Encoding', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\n'],
    [
      'an empty coding in Transfer-Encoding',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked,\r\n\r\n0\r\n\r\n',
    ],
  ])('an answer with %s leaves the connection unpoolable', (_name, text) => {
    const stream = latin1(text)
    const requests = [{ head: false }, { head: false }].slice(0, text.split('HTTP/1.').length - 1)
    expect(answerDisagreements(requests, stream)).toEqual([])
    expect(trackerRead(requests, [stream]).poolable).toBe(false)
  })

  it('gives up the connection after an answer to HEAD with an empty Transfer-Encoding (Node 24 refuses it)', () => {
    const stream = latin1('HTTP/1.1 200 Not Found\r\nTransfer-Encoding: \r\n\r\n')
    expect(answerDisagreements([{ head: true }], stream)).toEqual([])
    expect(trackerRead([{ head: true }], [stream]).poolable).toBe(false)
  })

  it('does not count an answer after one that closes the connection (llhttp reads none)', () => {
    const stream = latin1(`HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n${ok}`)
    const requests = [{ head: false }, { head: false }]
    expect(answerDisagreements(requests, stream)).toEqual([])
    expect(trackerRead(requests, [stream]).ends).toHaveLength(1)
  })
})

describe('the request reader limits', () => {
  it('refuses a chunked body once its chunks say it is over 64 MB (413), before the data comes', () => {
    const reader = new RequestReader()
    const head = latin1('POST /openai/responses HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n')
    const step = reader.next(head)
    if (step.kind !== 'head') throw new Error(`a head, not ${step.kind}`)
    reader.expectBody(step.head.body)
    expect(() => reader.next(latin1(`${(64 * 1024 * 1024 + 1).toString(16)}\r\n`))).toThrow(
      expect.objectContaining({ status: 413 }),
    )
  })

  it('refuses a head over 64 KB (431) before it ends', () => {
    const reader = new RequestReader()
    const head = latin1(`POST /openai/responses HTTP/1.1\r\nX: ${'a'.repeat(64 * 1024)}`)
    expect(() => reader.next(head)).toThrow(expect.objectContaining({ status: 431 }))
  })
})

describe('a request head, read directly', () => {
  it("trims a value's spaces and tabs, keeps those inside, and reads Connection options as whole list elements", () => {
    const head = (connection: string, minor = 1) =>
      parseRequestHead(
        `GET / HTTP/1.${minor}\r\nX-A: \t a \t b\t \r\nX-B:c\r\nX-C:  \r\nConnection: ${connection}`,
      )
    expect(head('keep-alive').lines.slice(0, 3)).toEqual([
      ['X-A', 'a \t b'],
      ['X-B', 'c'],
      ['X-C', ''],
    ])
    expect(head('keep-alive, Close').closes).toBe(true)
    expect(head('closed, keep-alive').closes).toBe(false)
    expect(head(' \tclose\t ').closes).toBe(true)
    expect(head('Keep-Alive', 0).closes).toBe(false)
    expect(head('keep-alives', 0).closes).toBe(true)
    expect(head('').closes).toBe(false)
    expect(parseRequestHead('GET / HTTP/1.0\r\nX: y').closes).toBe(true)
    const upgrade = (connection: string) =>
      parseRequestHead(`GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: ${connection}`).upgrade
    expect([upgrade('keep-alive, Upgrade'), upgrade('upgrades'), upgrade('')]).toEqual([true, false, false])
  })
})
