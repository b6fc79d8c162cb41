import { describe, expect, it } from 'vitest'
import { codexStartupNoiseFilter } from '../../src/agents/codex/stderr-noise.js'

const warning =
  'WARNING: proceeding, even though we could not create PATH aliases: Refusing to create helper binaries under temporary dir "/tmp" (codex_home: AbsolutePathBuf("/tmp/x"))\n'

/** Each chunk through one filter, as one process's stderr: the text that is kept, chunk by chunk. */
const filtered = (...chunks: string[]) => {
  const filter = codexStartupNoiseFilter()
  return chunks.map(filter)
}

describe("codex's helper-binary warning", () => {
  it('is dropped whole, and in either half when a chunk boundary splits it', () => {
    expect(filtered(`${warning}real error\n`)).toEqual(['real error\n'])
    const cut = warning.indexOf('Refusing')
    expect(filtered(warning.slice(0, cut), warning.slice(cut)).join('')).toBe('')
  })
  it('is dropped with its newline when that comes in the next chunk (no stray "\\n" is left)', () => {
    expect(filtered(warning.slice(0, -1), '\nReading prompt from stdin...\n')).toEqual([
      '',
      'Reading prompt from stdin...\n',
    ])
    // cut anywhere after its opening words, even in several pieces
    expect(
      filtered(warning.slice(0, 80), warning.slice(80, 150), warning.slice(150), 'next\n').join(''),
    ).toBe('next\n')
    expect(filtered(`first\n${warning.slice(0, 90)}`, `${warning.slice(90)}last\n`).join('')).toBe(
      'first\nlast\n',
    )
  })
  it('leaves everything else alone', () => {
    expect(filtered('Error: WARNING: proceeding is fine here\n')).toEqual([
      'Error: WARNING: proceeding is fine here\n',
    ])
    expect(filtered('a\nb\n', 'c', '\n')).toEqual(['a\nb\n', 'c', '\n'])
  })
})
