import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config/config-error.js'
import { loadConfig } from '../../src/config/load.js'
import { assertSafeToListen } from '../../src/http/server.js'
import { removeDir, tempDir } from '../support/temp.js'

const dirs: string[] = []

afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d)
})

function config(env: Record<string, string>) {
  const cwd = tempDir('startup-')
  dirs.push(cwd)
  return loadConfig(env, cwd)
}

describe('assertSafeToListen', () => {
  it.each(['0.0.0.0', '::', '192.168.1.1', 'example.com'])(
    'refuses HOST=%s without API_TOKENS, naming API_TOKENS',
    (host) => {
      let thrown: unknown
      try {
        assertSafeToListen(config({ HOST: host }))
      } catch (err) {
        thrown = err
      }
      expect(thrown).toBeInstanceOf(ConfigError)
      expect((thrown as ConfigError).message).toContain('API_TOKENS')
      expect((thrown as ConfigError).message).toContain(host)
    },
  )

  it('refuses a non-loopback HOST when API_TOKENS holds only separators', () => {
    expect(() => assertSafeToListen(config({ HOST: '0.0.0.0', API_TOKENS: ' , ' }))).toThrow(ConfigError)
  })

  it('allows a non-loopback HOST with API_TOKENS', () => {
    expect(() => assertSafeToListen(config({ HOST: '0.0.0.0', API_TOKENS: 'a-token' }))).not.toThrow()
  })

  it.each(['127.0.0.1', '127.0.0.2', 'localhost', '::1'])('allows HOST=%s without API_TOKENS', (host) => {
    expect(() => assertSafeToListen(config({ HOST: host }))).not.toThrow()
  })

  it('allows the default HOST without API_TOKENS', () => {
    expect(() => assertSafeToListen(config({}))).not.toThrow()
  })
})
