import type { Random } from './fuzz/random.js'

/**
 * Seeded streams of HTTP/1.1 requests and answers for the key proxy's framing tests (key-proxy-framing*.test.ts):
 * valid ones and ones malformed in the ways that make lax parsers disagree on where a message ends (repeated or
 * odd Content-Length, Transfer-Encoding variants, chunk sizes and extensions, trailers, obs-fold, bare CR/LF,
 * control bytes, odd targets and versions, a request hidden in a body, pipelining).
 */

const latin1 = (s: string) => Buffer.from(s, 'latin1')

/** A seeded stream of one to three requests, each valid or malformed in one of the ways that bend framing. */
export function requestStream(random: Random): Buffer {
  const requests: string[] = []
  const n = 1 + random.int(3)
  // a third of the streams are plain requests (no unlikely branch taken), pipelined ones among them
  const plain = random.chance(0.35)
  const source = plain ? Object.assign(Object.create(random), { chance: (p: number) => p >= 0.5 }) : random
  for (let r = 0; r < n; r++) requests.push(oneRequest(source))
  return latin1(requests.join(''))
}

const controls = ['\x00', '\x01', '\x7f', '\r', '\n', '\x0b', '\x1f', '\x85', '\xa0', '\xff', '\t', ' ']
const smuggled = 'GET /openai/smuggled HTTP/1.1\r\nHost: x\r\n\r\n'

function oneRequest(random: Random): string {
  const lead = random.chance(0.1) ? random.pick(['\r\n', '\n', '\r', '\r\n\r\n', ' ']) : ''
  const method = random.chance(0.85)
    ? random.pick(['GET', 'POST', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'])
    : random.pick(['FOO', 'get', 'CONNECT', 'M-SEARCH', 'PRI', 'PROPFIND', 'G\x00T'])
  let target = random.chance(0.8)
    ? random.pick(['/openai/responses', '/a?b=c&d', '/x/y%20z', '/'])
    : random.pick([
        'http://h/x',
        'h:443',
        '*',
        '/a\x7fb',
        '/a\x00b',
        '/a b',
        '/\x80',
        '/a\tb',
        '//h/x',
        '/a#f',
      ])
  if (method === 'CONNECT' && random.chance(0.5)) target = 'h:443'
  const version = random.chance(0.9)
    ? random.pick(['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0'])
    : random.pick(['HTTP/1.2', 'http/1.1', 'HTTP/2.0', 'HTTP/1.1 ', 'HTTP/1'])
  const sep = random.chance(0.95) ? ' ' : random.pick(['  ', '\t'])
  const headers: Array<[string, string]> = [['Host', 'x']]
  const framing = random.pick(['none', 'none', 'length', 'length', 'chunked', 'chunked', 'odd'])
  const body = random.chance(0.2) ? smuggled : 'hello world'.slice(0, random.int(12))
  let bodyText = ''
  if (framing === 'length') {
    const len = body.length + (random.chance(0.15) ? random.pick([-1, 1, 5]) : 0)
    const value = random.chance(0.8)
      ? String(Math.max(0, len))
      : random.pick([
          `00${len}`,
          `+${len}`,
          ` ${len} `,
          `${len},${len}`,
          '',
          `0x${len}`,
          '99999999999999999999',
        ])
    headers.push([random.pick(['Content-Length', 'content-length', 'CONTENT-LENGTH']), value])
    if (random.chance(0.15)) headers.push(['Content-Length', random.pick([value, String(len + 1), '0'])])
    bodyText = body
  } else if (framing === 'chunked') {
    const te = random.chance(0.75)
      ? random.pick(['chunked', 'Chunked', 'CHUNKED'])
      : random.pick(['chunked, chunked', 'gzip, chunked', 'identity', 'chunked ', ' chunked', 'chunked;q=1'])
    headers.push([random.pick(['Transfer-Encoding', 'transfer-encoding']), te])
    if (random.chance(0.1)) headers.push(['Transfer-Encoding', 'chunked'])
    if (random.chance(0.1)) headers.push(['Content-Length', String(body.length)])
    bodyText = chunkedBody(random, body)
  } else if (framing === 'odd') {
    headers.push(
      random.pick<[string, string]>([
        ['Transfer_Encoding', 'chunked'],
        ['Content-Lengthx', '5'],
      ]),
    )
    bodyText = ''
  }
  if (random.chance(0.25))
    headers.push(['Connection', random.pick(['close', 'keep-alive', 'Keep-Alive', 'upgrade', 'foo, close'])])
  if (random.chance(0.1)) headers.push(['Upgrade', 'websocket'])
  if (random.chance(0.1)) headers.push(['Expect', '100-continue'])
  if (random.chance(0.3))
    headers.push([random.pick(['X-A', 'x-b', 'Accept']), random.pick(['v', 'a b', '\x80\xff', ''])])
  const lines = headers.map(([name, value]) => `${name}:${random.chance(0.9) ? ' ' : ''}${value}`)
  // one mutation in one line now and then: what a lax parser reads otherwise
  if (random.chance(0.15) && lines.length > 0) {
    const at = random.int(lines.length)
    const line = lines[at] ?? ''
    const mutated = random.pick([
      () => line.replace(':', ' :'),
      () => line.replace(':', '\t:'),
      () => ` ${line}`,
      () => `${line}\r\n folded`,
      () => `${line}\r\n\tfolded`,
      () => {
        const i = random.int(line.length + 1)
        return line.slice(0, i) + random.pick(controls) + line.slice(i)
      },
      () => `${line}\n`,
      () => line.replace(':', ''),
      () => `:${line}`,
    ])()
    lines[at] = mutated
  }
  const eol = random.chance(0.95) ? '\r\n' : random.pick(['\n', '\r'])
  return `${lead}${method}${sep}${target}${sep}${version}${eol}${lines.map((l) => `${l}\r\n`).join('')}\r\n${bodyText}`
}

function chunkedBody(random: Random, body: string): string {
  const chunks: string[] = []
  let rest = body
  while (rest.length > 0) {
    const take = 1 + random.int(rest.length)
    chunks.push(rest.slice(0, take))
    rest = rest.slice(take)
  }
  let text = ''
  for (const data of chunks) {
    let size = data.length.toString(16)
    if (random.chance(0.2))
      size = random.pick([
        `000${size}`,
        size.toUpperCase(),
        `${size} `,
        `${size}\t`,
        ` ${size}`,
        `${size};ext`,
        `${size};a=b;c="d e"`,
        `${size};a=b c`,
        `${size} ;x`,
        `${size};\x01`,
        `${size};a="\x7f"`,
        `0x${size}`,
        `-${size}`,
        'fffffffffffffffffff',
        '',
        `${size}\x00`,
      ])
    const end = random.chance(0.95) ? '\r\n' : random.pick(['\n', '\r', '', '\r\r\n'])
    text += `${size}\r\n${data}${end}`
  }
  const last = random.chance(0.9) ? '0' : random.pick(['000', '0;x=y', '0 '])
  const trailers = random.chance(0.8)
    ? ''
    : random.pick([
        'X-T: t\r\n',
        'bad line\r\n',
        'X-T: a\r\n folded\r\n',
        'X-T : t\r\n',
        'X-T: \x00\r\n',
        'X: t\n',
      ])
  return `${text}${last}\r\n${trailers}\r\n`
}

export function answerStream(random: Random): { requests: Array<{ head: boolean }>; stream: Buffer } {
  const requests: Array<{ head: boolean }> = []
  let text = ''
  // a third of the streams are plain answers (no unlikely branch taken)
  if (random.chance(0.35)) random = Object.assign(Object.create(random), { chance: (p: number) => p >= 0.5 })
  const n = 1 + random.int(3)
  for (let r = 0; r < n; r++) {
    const head = random.chance(0.15)
    requests.push({ head })
    if (random.chance(0.15))
      text += `HTTP/1.1 ${random.pick([100, 102, 103])} Info\r\n${random.pick(['', 'Link: x\r\n'])}\r\n`
    text += oneAnswer(random, head)
  }
  return { requests, stream: latin1(text) }
}

function oneAnswer(random: Random, head: boolean): string {
  const status = random.chance(0.8)
    ? '200'
    : random.pick(['101', '204', '304', '404', '500', '099', '2000', '20', '600'])
  const version = random.chance(0.85)
    ? 'HTTP/1.1'
    : random.pick(['HTTP/1.0', 'HTTP/1.0', 'HTTP/1.2', 'HTTP/2', 'http/1.1'])
  const reason = random.pick([' OK', ' OK', '', ' ', ' Not \x80Found', ' \x01', 'OK', '\tOK'])
  const body = random.chance(0.2)
    ? 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'
    : 'data: x'.slice(0, random.int(8))
  const headers: Array<[string, string]> = []
  const framing = random.pick(['length', 'length', 'chunked', 'chunked', 'none', 'te-other'])
  let bodyText = ''
  if (framing === 'length') {
    const value = random.chance(0.8)
      ? String(body.length)
      : random.pick([
          `00${body.length}`,
          `+${body.length}`,
          `${body.length},${body.length}`,
          '',
          '1e1',
          '0x1',
        ])
    headers.push(['Content-Length', value])
    if (random.chance(0.1)) headers.push(['Content-Length', random.pick([value, '0'])])
    if (random.chance(0.1)) headers.push(['Transfer-Encoding', 'chunked'])
    bodyText = body
  } else if (framing === 'chunked') {
    headers.push([
      'Transfer-Encoding',
      random.pick(['chunked', 'chunked', 'Chunked', 'gzip, chunked', 'chunked, gzip']),
    ])
    if (random.chance(0.1)) headers.push(['Content-Length', String(body.length)])
    bodyText = chunkedBody(random, body)
  } else if (framing === 'te-other') {
    headers.push(['Transfer-Encoding', random.pick(['gzip', '', 'chunked, identity', 'identity'])])
    bodyText = body
  } else bodyText = random.chance(0.5) ? body : ''
  if (random.chance(0.3))
    headers.push(['Connection', random.pick(['close', 'keep-alive', 'foo', 'Keep-Alive, foo', 'upgrade'])])
  if (random.chance(0.1)) headers.push(['Connection', random.pick(['close', 'keep-alive'])])
  const lines = headers.map(([n, v]) => `${n}: ${v}`)
  if (random.chance(0.15) && lines.length > 0) {
    const at = random.int(lines.length)
    lines[at] = random.pick([
      ` ${lines[at]}`,
      `${lines[at]}\r\n folded`,
      (lines[at] ?? '').replace(':', ' :'),
      `${lines[at]}\x00`,
    ])
  }
  const eol = random.chance(0.97) ? '\r\n' : '\n'
  const text = `${version} ${status}${reason}${eol}${lines.map((l) => `${l}${eol}`).join('')}${eol}`
  return head || status === '204' || status === '304' ? text : text + bodyText
}
