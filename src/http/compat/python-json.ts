/**
 * Where and why Python's `json.loads` (its C scanner, which FastAPI's `request.json()` used) refuses a text: the
 * `msg` and `pos` of its JSONDecodeError, which FastAPI put in a 422's `ctx.error` and `loc`. `pos` counts code
 * points, as Python's str does. Only called for a text JSON.parse refused; a text Python would take that
 * JavaScript does not (NaN, Infinity) is reported as "Expecting value" where that word starts.
 */
export function pythonJsonError(text: string): { msg: string; pos: number } {
  try {
    const end = skipWhitespace(text, value(text, skipWhitespace(text, 0)))
    if (end !== text.length) throw new Refusal('Extra data', end)
    return { msg: 'Expecting value', pos: 0 }
  } catch (err) {
    // nesting deeper than this stack (Python gave up sooner, with a RecursionError FastAPI answered 400 for)
    if (!(err instanceof Refusal)) return { msg: 'Expecting value', pos: 0 }
    return { msg: err.msg, pos: codePoints(text, err.pos) }
  }
}

class Refusal {
  constructor(
    readonly msg: string,
    readonly pos: number,
  ) {}
}

const isWhitespace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r'

function skipWhitespace(s: string, i: number): number {
  while (isWhitespace(s[i])) i++
  return i
}

/** Scans one value at `i` and answers where it ends (Python's scan_once; its StopIteration is "Expecting value"). */
function value(s: string, i: number): number {
  const c = s[i]
  if (c === '"') return string(s, i + 1)
  if (c === '{') return object(s, i + 1)
  if (c === '[') return array(s, i + 1)
  for (const word of ['null', 'true', 'false', 'NaN', 'Infinity', '-Infinity'])
    if (s.startsWith(word, i)) return i + word.length
  const number = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?/.exec(s.slice(i, i + 400))
  if (number) return i + number[0].length
  throw new Refusal('Expecting value', i)
}

function string(s: string, start: number): number {
  const begin = start - 1
  let i = start
  for (;;) {
    while (i < s.length && s[i] !== '"' && s[i] !== '\\') {
      if (s.charCodeAt(i) <= 0x1f) throw new Refusal('Invalid control character at', i)
      i++
    }
    if (i >= s.length) throw new Refusal('Unterminated string starting at', begin)
    if (s[i] === '"') return i + 1
    i++
    if (i >= s.length) throw new Refusal('Unterminated string starting at', begin)
    if (s[i] !== 'u') {
      if (!'"\\/bfnrt'.includes(s[i]!)) throw new Refusal('Invalid \\escape', i - 1)
      i++
      continue
    }
    // Python wants one more character after the four digits (the string's closing quote at least)
    if (i + 5 >= s.length) throw new Refusal('Invalid \\uXXXX escape', i)
    if (!/^[0-9a-fA-F]{4}$/.test(s.slice(i + 1, i + 5))) throw new Refusal('Invalid \\uXXXX escape', i)
    i += 5
  }
}

function object(s: string, start: number): number {
  let i = skipWhitespace(s, start)
  if (s[i] === '}') return i + 1
  for (;;) {
    if (s[i] !== '"') throw new Refusal('Expecting property name enclosed in double quotes', i)
    i = skipWhitespace(s, string(s, i + 1))
    if (s[i] !== ':') throw new Refusal("Expecting ':' delimiter", i)
    i = skipWhitespace(s, value(s, skipWhitespace(s, i + 1)))
    if (s[i] === '}') return i + 1
    if (s[i] !== ',') throw new Refusal("Expecting ',' delimiter", i)
    i = skipWhitespace(s, i + 1)
  }
}

function array(s: string, start: number): number {
  let i = skipWhitespace(s, start)
  if (s[i] === ']') return i + 1
  for (;;) {
    i = skipWhitespace(s, value(s, i))
    if (s[i] === ']') return i + 1
    if (s[i] !== ',') throw new Refusal("Expecting ',' delimiter", i)
    i = skipWhitespace(s, i + 1)
  }
}

/** A UTF-16 index as Python's code point index. */
function codePoints(s: string, index: number): number {
  let surrogatePairs = 0
  for (let i = 0; i < index - 1; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      surrogatePairs++
      i++
    }
  }
  return index - surrogatePairs
}
