import { describe, expect, it } from 'vitest'
import { isSecretName, Redactor, secretNamesIn, secretValues } from '../../src/process/secrets.js'

describe('secrets', () => {
  it('names: known secrets and anything that looks like a credential, in any case', () => {
    for (const name of [
      'CODEX_API_KEY',
      'api_tokens',
      'GH_TOKEN',
      'MY_SECRET',
      'db_password',
      'SSH_AUTH_SOCK',
    ])
      expect(isSecretName(name), name).toBe(true)
    for (const name of ['PATH', 'HOME', 'LANG', 'TERM', 'CODEX_HOME'])
      expect(isSecretName(name), name).toBe(false)
    expect(secretNamesIn({ PATH: '/bin', OPENAI_API_KEY: 'x', HOME: '/h' })).toEqual(['OPENAI_API_KEY'])
  })

  it('values: from settings and env, API_TOKENS split, short values and non-secret names ignored', () => {
    const values = secretValues(
      { API_TOKENS: ['token-one-123', 'token-two-456'], CODEX_API_KEY: 'sk-abcdefgh', PORT: 8000 },
      {
        GITHUB_TOKEN: 'ghp_0123456789',
        SHORT_KEY: 'abc',
        SSH_AUTH_SOCK: '/tmp/ssh-agent.sock',
        PATH: '/usr/bin',
      },
    )
    expect(values.sort()).toEqual(['ghp_0123456789', 'sk-abcdefgh', 'token-one-123', 'token-two-456'])
  })

  it("a URL's password is a secret whatever the variable's name; a URL without one is not", () => {
    const env = {
      HTTPS_PROXY: 'http://proxyuser:p%40ss-word-99@proxy.example:3128',
      HTTP_PROXY: 'http://proxy.example:3128',
      NO_PROXY: '127.0.0.1',
      PATH: '/bin',
    }
    expect(secretNamesIn(env)).toEqual(['HTTPS_PROXY'])
    const values = secretValues(env)
    for (const v of ['proxyuser:p%40ss-word-99', 'p%40ss-word-99', 'p@ss-word-99'])
      expect(values).toContain(v)
    expect(values).not.toContain('http://proxy.example:3128')
    expect(secretValues({ ALL_PROXY: 'socks5://user@proxy.example:1080' })).toEqual([])
  })

  it('values: a named API_TOKENS entry gives its token, from the settings list and from the env string', () => {
    const entry = 'dash:named-token-789:read+run:team-a'
    expect(secretValues({ API_TOKENS: [entry, 'bare-token-123'] })).toContain('named-token-789')
    const fromEnv = secretValues({ API_TOKENS: `bare-token-123,${entry}` })
    expect(fromEnv).toContain('named-token-789')
    expect(fromEnv).toContain('bare-token-123')
    // the entry's other fields are not secrets (a scope list would garble every event that names it)
    expect(fromEnv).not.toContain('read+run')
  })

  it('Redactor replaces every occurrence in strings and nested values, longest first', () => {
    const r = new Redactor(['sk-abcdefgh', 'sk-abcdefgh-longer'])
    expect(r.text('a sk-abcdefgh-longer b sk-abcdefgh')).toBe('a [REDACTED] b [REDACTED]')
    const input = { type: 'output', data: ['x', { deep: 'key=sk-abcdefgh' }], n: 1 }
    expect(r.value(input)).toEqual({ type: 'output', data: ['x', { deep: 'key=[REDACTED]' }], n: 1 })
    const clean = { type: 'output', data: 'nothing here' }
    expect(r.value(clean)).toBe(clean)
    expect(new Redactor([]).value(input)).toBe(input)
  })

  it('Redactor.value copies only what holds a secret: a clean value is returned as it is, a dirty one copied', () => {
    const r = new Redactor(['sk-abcdefgh'])
    const clean = {
      type: 'item.completed',
      item: { id: 'i', text: 'ok', parts: ['a', { b: 'c' }] },
      n: 2,
      z: null,
    }
    const frozen = Object.freeze(clean)
    expect(r.value(frozen)).toBe(frozen)
    // keys are not redacted, only values
    const keyed = { 'sk-abcdefgh': 'plain' }
    expect(r.value(keyed)).toBe(keyed)
    const dirty = {
      type: 'item.completed',
      item: { id: 'i', text: 'ok', parts: ['a', { b: 'x sk-abcdefgh' }] },
    }
    const out = r.value(dirty)
    expect(out).toEqual({
      type: 'item.completed',
      item: { id: 'i', text: 'ok', parts: ['a', { b: 'x [REDACTED]' }] },
    })
    expect(dirty.item.parts[1]).toEqual({ b: 'x sk-abcdefgh' })
    expect(out).not.toBe(dirty)
  })
})
