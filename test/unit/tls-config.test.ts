import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config/config-error.js'
import { loadConfig } from '../../src/config/load.js'

describe('TLS settings', () => {
  const cwd = '/srv/gw'
  it('cleartext by default', () => {
    expect(loadConfig({}, cwd).tls).toBeNull()
  })
  it('TLS_CERT_PATH + TLS_KEY_PATH, resolved against the working directory', () => {
    expect(loadConfig({ TLS_CERT_PATH: 'c.pem', TLS_KEY_PATH: '/k.pem' }, cwd).tls).toEqual({
      certPath: path.join(cwd, 'c.pem'),
      keyPath: '/k.pem',
    })
  })
  it('one without the other is refused', () => {
    expect(() => loadConfig({ TLS_CERT_PATH: 'c.pem' }, cwd)).toThrow(ConfigError)
    expect(() => loadConfig({ TLS_KEY_PATH: 'k.pem' }, cwd)).toThrow(/TLS_CERT_PATH and TLS_KEY_PATH/)
  })
  it('seed 004: CODEX_API_USE_TLS=true with its default paths, or CODEX_API_TLS_*; TLS_* wins', () => {
    expect(loadConfig({ CODEX_API_USE_TLS: 'true' }, cwd).tls).toEqual({
      certPath: path.join(cwd, 'certs/localhost.pem'),
      keyPath: path.join(cwd, 'certs/localhost-key.pem'),
    })
    expect(
      loadConfig(
        { CODEX_API_USE_TLS: 'true', CODEX_API_TLS_CERT_PATH: '/a.pem', CODEX_API_TLS_KEY_PATH: '/b.pem' },
        cwd,
      ).tls,
    ).toEqual({ certPath: '/a.pem', keyPath: '/b.pem' })
    expect(
      loadConfig({ CODEX_API_USE_TLS: 'true', TLS_CERT_PATH: '/x.pem', TLS_KEY_PATH: '/y.pem' }, cwd).tls,
    ).toEqual({ certPath: '/x.pem', keyPath: '/y.pem' })
    expect(loadConfig({ CODEX_API_USE_TLS: 'false', CODEX_API_TLS_CERT_PATH: '/a.pem' }, cwd).tls).toBeNull()
  })
})
