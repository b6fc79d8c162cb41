import { describe, expect, it } from 'vitest'
import { LineSplitter } from '../../src/process/line-splitter.js'

describe('LineSplitter', () => {
  it('gives whole lines without their end, whatever the chunks, and the last line at the end', () => {
    const s = new LineSplitter()
    expect(s.push('a\r\nb')).toEqual(['a'])
    expect(s.push('c\n\nd')).toEqual(['bc', ''])
    expect(s.end()).toEqual(['d'])
    expect(s.end()).toEqual([])
  })

  it('keeps each line exactly as written with keepEnds (seed 001 /run frames)', () => {
    const s = new LineSplitter(100, { keepEnds: true })
    expect(s.push('Usage: codex\r\n\nOpt')).toEqual(['Usage: codex\r\n', '\n'])
    expect(s.push('ions')).toEqual([])
    expect(s.end()).toEqual(['Options'])
  })

  it('cuts a runaway line into pieces of at most maxLineChars, in either mode', () => {
    // a line whose newline came in the same chunk is whole already: only what waits for a newline is bounded
    expect(new LineSplitter(4).push('abcdefghij\nk')).toEqual(['abcdefghij'])
    const plain = new LineSplitter(4)
    expect(plain.push('abcdefghij')).toEqual(['abcd', 'efgh'])
    expect(plain.push('\n')).toEqual(['ij'])
    const kept = new LineSplitter(4, { keepEnds: true })
    expect(kept.push('abcdefghij')).toEqual(['abcd', 'efgh'])
    expect(kept.push('\n')).toEqual(['ij\n'])
  })
})
