import { PassThrough, Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { type LinePart, onText, readLineParts, readLines, readText } from '../../src/process/lines.js'

const chunks = (...parts: (string | Buffer)[]) =>
  Readable.from(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)))

async function collect(gen: AsyncGenerator<string>): Promise<string[]> {
  const out: string[] = []
  for await (const item of gen) out.push(item)
  return out
}

const euro = Buffer.from('€', 'utf8') // 3 bytes: e2 82 ac
const grin = Buffer.from('😀', 'utf8') // 4 bytes, 2 UTF-16 units

describe('readLines', () => {
  it('yields complete lines without the newline', async () => {
    expect(await collect(readLines(chunks('one\ntwo\nthree\n')))).toEqual(['one', 'two', 'three'])
  })

  it('joins a line split across chunks', async () => {
    expect(await collect(readLines(chunks('{"type":', '"turn.', 'started"}\n{"a"', ':1}\n')))).toEqual([
      '{"type":"turn.started"}',
      '{"a":1}',
    ])
  })

  it('handles a newline at the very start of a chunk', async () => {
    expect(await collect(readLines(chunks('a', '\nb', '\n')))).toEqual(['a', 'b'])
  })

  it('strips CR of CRLF line ends, also when CR and LF arrive in different chunks', async () => {
    expect(await collect(readLines(chunks('one\r\ntwo\r', '\nthree\r\n')))).toEqual(['one', 'two', 'three'])
  })

  it('keeps a CR that is not at the end of a line', async () => {
    expect(await collect(readLines(chunks('a\rb\n')))).toEqual(['a\rb'])
  })

  it('yields a final line without newline', async () => {
    expect(await collect(readLines(chunks('one\ntw', 'o')))).toEqual(['one', 'two'])
    expect(await collect(readLines(chunks('last\r')))).toEqual(['last'])
  })

  it('keeps empty lines in the middle', async () => {
    expect(await collect(readLines(chunks('a\n\n\nb\n')))).toEqual(['a', '', '', 'b'])
  })

  it('decodes a multi-byte UTF-8 character split across chunks', async () => {
    const stream = chunks(
      Buffer.concat([Buffer.from('price: '), euro.subarray(0, 1)]),
      euro.subarray(1, 2),
      Buffer.concat([euro.subarray(2), Buffer.from('5\n')]),
    )
    expect(await collect(readLines(stream))).toEqual(['price: €5'])
  })

  it('decodes a 4-byte character split at every byte', async () => {
    const stream = chunks(...[...grin].map((b) => Buffer.from([b])), Buffer.from('!\n'))
    expect(await collect(readLines(stream))).toEqual(['😀!'])
  })

  it('cuts a huge line that arrives in many chunks into pieces of maxLineChars', async () => {
    const stream = chunks('x'.repeat(6), 'x'.repeat(6), 'x'.repeat(3), '\nnext\n')
    const lines = await collect(readLines(stream, 4))
    expect(lines.join('')).toBe(`${'x'.repeat(15)}next`)
    expect(lines.every((l) => l.length <= 4)).toBe(true)
    expect(lines.at(-1)).toBe('next')
    expect(lines.length).toBe(5)
  })

  it('never yields a piece longer than maxLineChars, however the input is chunked', async () => {
    // Documented: "A line longer than maxLineChars is cut and yielded in pieces".
    const lines = await collect(readLines(chunks(`${'y'.repeat(10)}\nok\n`), 4))
    expect(lines).toEqual(['yyyy', 'yyyy', 'yy', 'ok'])
  })

  it('does not invent an empty line when a cut piece is followed by CRLF split across chunks', async () => {
    const lines = await collect(readLines(chunks('abcd\r', '\nnext\n'), 4))
    expect(lines).toEqual(['abcd', 'next'])
  })

  it('yields nothing for empty input', async () => {
    expect(await collect(readLines(chunks()))).toEqual([])
    expect(await collect(readLines(chunks('')))).toEqual([])
  })

  it('yields one empty line for a lone newline', async () => {
    expect(await collect(readLines(chunks('\n')))).toEqual([''])
  })

  it('ends at a destroy (an output a daemon held, closed) as at an end: the last line read is yielded', async () => {
    const stream = new PassThrough()
    stream.write('one\ntwo')
    const lines: string[] = []
    for await (const line of readLines(stream)) {
      lines.push(line)
      if (line === 'one') stream.destroy()
    }
    expect(lines).toEqual(['one', 'two'])
  })

  it('still fails when the stream fails', async () => {
    const stream = new PassThrough()
    stream.write('one\n')
    const lines = readLines(stream)
    expect((await lines.next()).value).toBe('one')
    stream.destroy(new Error('pipe broke'))
    await expect(lines.next()).rejects.toThrow('pipe broke')
  })
})

describe('readLineParts', () => {
  const parts = async (gen: AsyncGenerator<LinePart>) => {
    const out: LinePart[] = []
    for await (const part of gen) out.push(part)
    return out
  }
  // a line whose head starts with "big" may be read up to 12 characters; any other is cut at 4
  const heads: string[] = []
  const longer = (head: string) => {
    heads.push(head)
    return head.startsWith('big') ? 12 : 4
  }

  it("reads a line past maxLineChars as far as longerLine allows it, told by the line's head", async () => {
    heads.length = 0
    const stream = chunks('b', 'ig', '-123', '4567\nsmall-line', '-more\r', '\nbig-', '12345678', '9\nok\r\n')
    expect(await parts(readLineParts(stream, 4, longer))).toEqual([
      { text: 'big-1234567', cut: false, limit: 12 },
      { text: 'smal', cut: true, limit: 4 },
      { text: 'l-li', cut: true, limit: 4 },
      { text: 'ne-m', cut: true, limit: 4 },
      { text: 'ore', cut: false, limit: 4 },
      { text: 'big-12345678', cut: true, limit: 12 },
      { text: '9', cut: false, limit: 12 },
      { text: 'ok', cut: false, limit: 4 },
    ])
    // asked once a line, of what came of it by then, and only of a line past maxLineChars
    expect(heads).toEqual(['big-123', 'small-line', 'big-12345678'])
  })

  it('asks of a line that comes whole in one chunk, and of the last line without its newline', async () => {
    heads.length = 0
    expect(await parts(readLineParts(chunks('big-line-8\nother-line\nbig-last'), 4, longer))).toEqual([
      { text: 'big-line-8', cut: false, limit: 12 },
      { text: 'othe', cut: true, limit: 4 },
      { text: 'r-li', cut: true, limit: 4 },
      { text: 'ne', cut: false, limit: 4 },
      { text: 'big-last', cut: false, limit: 12 },
    ])
    expect(heads).toEqual(['big-line-8', 'other-line', 'big-last'])
  })

  it("never allows less than maxLineChars, and gives longerLine no more than a line's head", async () => {
    const seen: number[] = []
    const stream = chunks(`${'z'.repeat(3000)}\n`)
    const out = await parts(
      readLineParts(stream, 1500, (head) => {
        seen.push(head.length)
        return 10
      }),
    )
    expect(out.map((p) => p.text.length)).toEqual([1500, 1500])
    expect(seen).toEqual([1024])
  })
})

describe('readText', () => {
  it('yields decoded text as it arrives', async () => {
    expect((await collect(readText(chunks('hello ', 'world\n')))).join('')).toBe('hello world\n')
  })

  it('never yields a broken multi-byte character', async () => {
    const parts = await collect(
      readText(chunks(Buffer.from('a'), grin.subarray(0, 2), grin.subarray(2), Buffer.from('b'))),
    )
    expect(parts.join('')).toBe('a😀b')
    expect(parts.some((p) => p.includes('\uFFFD'))).toBe(false)
  })

  it('flushes an incomplete character at the end as a replacement character', async () => {
    expect((await collect(readText(chunks(Buffer.from('ok'), euro.subarray(0, 2))))).join('')).toBe(
      'ok\uFFFD',
    )
  })

  it('yields nothing for empty input', async () => {
    expect(await collect(readText(chunks()))).toEqual([])
  })

  it('ends at a destroy as at an end, after what was read', async () => {
    const stream = new PassThrough()
    stream.write('read')
    const parts: string[] = []
    for await (const text of readText(stream)) {
      parts.push(text)
      stream.destroy()
    }
    expect(parts).toEqual(['read'])
  })
})

describe('onText', () => {
  async function pushed(stream: Readable): Promise<string[]> {
    const out: string[] = []
    await onText(stream, (text) => out.push(text))
    return out
  }

  it('pushes each chunk as it is read and resolves at the end', async () => {
    expect(await pushed(chunks('hello ', 'world\n'))).toEqual(['hello ', 'world\n'])
  })

  it('never pushes a broken multi-byte character, also when ASCII follows the split', async () => {
    // the chunk after the split is pure ASCII: it must not be copied as is while the decoder holds half a character
    const parts = await pushed(
      chunks(Buffer.from('a'), grin.subarray(0, 2), grin.subarray(2), Buffer.from('b'), euro.subarray(0, 1)),
    )
    expect(parts.join('')).toBe('a😀b\uFFFD')
    expect(parts.slice(0, -1).some((p) => p.includes('\uFFFD'))).toBe(false)
    const split = await pushed(
      chunks(Buffer.concat([Buffer.from('x'), euro.subarray(0, 2)]), Buffer.from([0xac, 0x21])),
    )
    expect(split.join('')).toBe('x€!')
    // an ASCII chunk while a character is pending: decoded as readText does (the broken character first)
    const broken = chunks(Buffer.concat([Buffer.from('x'), euro.subarray(0, 2)]), Buffer.from('y'))
    const expected = (
      await collect(
        readText(chunks(Buffer.concat([Buffer.from('x'), euro.subarray(0, 2)]), Buffer.from('y'))),
      )
    ).join('')
    expect(expected).toBe('x\uFFFDy')
    expect((await pushed(broken)).join('')).toBe(expected)
  })

  it('decodes UTF-8 and Latin-1 range characters, not only ASCII', async () => {
    expect((await pushed(chunks('héllo ', 'wörld €'))).join('')).toBe('héllo wörld €')
  })

  it('resolves when the stream fails or is destroyed, after what was read', async () => {
    const failing = new PassThrough()
    const done = pushed(failing)
    failing.write('partial')
    await new Promise((r) => setImmediate(r))
    failing.destroy(new Error('pipe broke'))
    expect(await done).toEqual(['partial'])
    const destroyed = new PassThrough()
    const gone = pushed(destroyed)
    destroyed.destroy()
    expect(await gone).toEqual([])
  })

  it('pushes nothing for empty input', async () => {
    expect(await pushed(chunks())).toEqual([])
  })
})
