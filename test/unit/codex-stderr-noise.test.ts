import { describe, expect, it } from 'vitest'
import { dropCodexStartupNoise } from '../../src/agents/codex/stderr-noise.js'

const warning =
  'WARNING: proceeding, even though we could not create PATH aliases: Refusing to create helper binaries under temporary dir "/tmp" (codex_home: AbsolutePathBuf("/tmp/x"))\n'

describe("codex's helper-binary warning", () => {
  it('is dropped whole, and in either half when a chunk boundary splits it', () => {
    expect(dropCodexStartupNoise(`${warning}real error\n`)).toBe('real error\n')
    const cut = warning.indexOf('Refusing')
    expect(dropCodexStartupNoise(warning.slice(0, cut)) + dropCodexStartupNoise(warning.slice(cut))).toBe('')
  })
  it('leaves everything else alone', () => {
    expect(dropCodexStartupNoise('Error: WARNING: proceeding is fine here\n')).toBe(
      'Error: WARNING: proceeding is fine here\n',
    )
    expect(dropCodexStartupNoise('a\nb\n')).toBe('a\nb\n')
  })
})
