import { describe, expect, it } from 'vitest'
import { codexSystemCaEnv } from '../../src/agents/codex/ca-bundle.js'

const only = (file: string) => (f: string) => f === file

describe('codexSystemCaEnv', () => {
  it('names the first system bundle that exists on Linux', () => {
    expect(codexSystemCaEnv({}, 'linux', only('/etc/ssl/certs/ca-certificates.crt'))).toEqual({
      CODEX_CA_CERTIFICATE: '/etc/ssl/certs/ca-certificates.crt',
    })
    expect(codexSystemCaEnv({}, 'linux', only('/etc/pki/tls/certs/ca-bundle.crt'))).toEqual({
      CODEX_CA_CERTIFICATE: '/etc/pki/tls/certs/ca-bundle.crt',
    })
  })

  it('leaves a trust store the server chose, other systems and missing bundles alone', () => {
    const exists = only('/etc/ssl/certs/ca-certificates.crt')
    expect(codexSystemCaEnv({ SSL_CERT_FILE: '/corp/ca.pem' }, 'linux', exists)).toEqual({})
    expect(codexSystemCaEnv({ SSL_CERT_DIR: '/corp/certs' }, 'linux', exists)).toEqual({})
    expect(codexSystemCaEnv({ CODEX_CA_CERTIFICATE: '/corp/ca.pem' }, 'linux', exists)).toEqual({})
    expect(codexSystemCaEnv({}, 'darwin', exists)).toEqual({})
    expect(codexSystemCaEnv({}, 'linux', () => false)).toEqual({})
  })
})
