import { describe, expect, it } from 'vitest'
import { pythonJsonError } from '../../src/http/compat/python-json.js'

/** What Python's json.loads says of each text (its JSONDecodeError's msg and pos), as FastAPI's 422 quoted it. */
describe("Python's JSON decode errors (seed 002's 422 json_invalid)", () => {
  const cases: [string, string, number][] = [
    ['', 'Expecting value', 0],
    ['  ', 'Expecting value', 2],
    ['{', 'Expecting property name enclosed in double quotes', 1],
    ["{'prompt': 'x'}", 'Expecting property name enclosed in double quotes', 1],
    ['{"prompt": "x",}', 'Expecting property name enclosed in double quotes', 15],
    ['{"a"', "Expecting ':' delimiter", 4],
    ['{"a" 1}', "Expecting ':' delimiter", 5],
    ['{"a": 1', "Expecting ',' delimiter", 7],
    ['{"a": }', 'Expecting value', 6],
    ['[1 2]', "Expecting ',' delimiter", 3],
    ['[', 'Expecting value', 1],
    ['"abc', 'Unterminated string starting at', 0],
    ['{"a": "b\\', 'Unterminated string starting at', 6],
    ['"a\\x"', 'Invalid \\escape', 2],
    ['"\\u12"', 'Invalid \\uXXXX escape', 2],
    ['"\\u12zz"', 'Invalid \\uXXXX escape', 2],
    ['"a\nb"', 'Invalid control character at', 2],
    ['{"a":1}x', 'Extra data', 7],
    ['{"a":1} {}', 'Extra data', 8],
    ['01', 'Extra data', 1],
    ['-', 'Expecting value', 0],
    ['tru', 'Expecting value', 0],
    // code points, as Python counts: the emoji is one character there, two UTF-16 units here
    ['["😀", x]', 'Expecting value', 6],
  ]
  it.each(cases)('%j: %s at %i', (text, msg, pos) => {
    expect(() => JSON.parse(text)).toThrow()
    expect(pythonJsonError(text)).toEqual({ msg, pos })
  })
})
