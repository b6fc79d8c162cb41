import { spawnSync } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import { codexOverride, tomlKey, tomlString, tomlValue } from '../../src/agents/codex/config-override.js'
import { resolveCodexBinary } from '../../src/agents/codex-binary.js'
import { removeDir, tempDir } from '../support/temp.js'

describe('codex -c overrides', () => {
  it('writes strings as TOML basic strings: JSON escaping, DEL escaped, a lone surrogate as U+FFFD', () => {
    expect(tomlString('gpt-5"\nsandbox_mode="danger-full-access')).toBe(
      '"gpt-5\\"\\nsandbox_mode=\\"danger-full-access"',
    )
    expect(tomlString('a\\b\tc\u0000')).toBe('"a\\\\b\\tc\\u0000"')
    expect(tomlString('a\u007fb')).toBe('"a\\u007fb"')
    expect(tomlString('a\ud800b\udc00c')).toBe('"a\ufffdb\ufffdc"')
    // a pair stays, and U+2028 may be raw in TOML
    expect(tomlString('\ud83d\ude00\u2028')).toBe('"\ud83d\ude00\u2028"')
  })

  it('writes keys bare when they may be, numbers, booleans, string arrays and inline tables', () => {
    expect(tomlKey('agent-gateway_1')).toBe('agent-gateway_1')
    expect(tomlKey(':minimal')).toBe('":minimal"')
    expect(tomlValue(0)).toBe('0')
    expect(tomlValue(false)).toBe('false')
    expect(() => tomlValue(Number.NaN)).toThrow()
    expect(tomlValue(['A', 'B"'])).toBe('["A","B\\""]')
    expect(tomlValue({ name: 'x', '/a b': 'read', retries: 2 })).toBe('{name="x","/a b"="read",retries=2}')
    expect(codexOverride('model', 'm')).toEqual(['-c', 'model="m"'])
  })

  describe('read by the pinned codex', () => {
    const binary = resolveCodexBinary(undefined)
    const home = tempDir('codex-toml-')
    afterAll(() => removeDir(home))

    // codex names an unknown model_provider in its error: the value as its TOML parser read it (a value that is
    // not valid TOML is taken as its own text, quotes trimmed and escapes left as they are)
    const readBack = (value: string) => {
      const { stderr } = spawnSync(
        binary as string,
        [...codexOverride('model_provider', value), 'exec', '--skip-git-repo-check', 'x'],
        { env: { PATH: process.env.PATH, CODEX_HOME: home }, encoding: 'utf8', input: '', timeout: 20_000 },
      )
      return /Model provider `([\s\S]*)` not found/.exec(stderr)?.[1] ?? stderr
    }

    it.skipIf(!binary)('reads every edge case back as written', () => {
      for (const [value, read] of [
        ['a\u007f\tb', 'a\u007f\tb'],
        ['a\ud800\tb', 'a\ufffd\tb'],
        ['a\u2028\tb', 'a\u2028\tb'],
        ['a"\\\n,b', 'a"\\\n,b'],
      ])
        expect(readBack(value as string)).toBe(read)
    })
  })
})
