import { describe, expect, it } from 'vitest'
import { codexSystemCaEnv } from '../../src/agents/codex/ca-bundle.js'
import { CodexExecDriver } from '../../src/agents/codex/exec-driver.js'
import { appServerLaunch } from '../../src/agents/codex-app-server/app-server-launch.js'
import { loadConfig } from '../../src/config/load.js'
import type { LaunchSpec, ProcessRunner } from '../../src/process/runner.js'

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

describe('every codex the gateway launches on this host gets the system bundle, none in a container', () => {
  const bundle = systemBundle()
  const config = loadConfig({ CODEX_PATH: '/bin/true' }, '/tmp')

  it.skipIf(!bundle)('codex app-server (sessions and warm one-shot runs)', () => {
    const local = appServerLaunch('/bin/true', { config, serverEnv: {}, clientName: 't', cwd: '/tmp' })
    expect(local.env.CODEX_CA_CERTIFICATE).toBe(bundle)
    const boxed = appServerLaunch('/bin/true', {
      config,
      serverEnv: {},
      clientName: 't',
      cwd: '/tmp',
      placement: { isolation: 'container', program: 'codex' },
    })
    expect(boxed.env).not.toHaveProperty('CODEX_CA_CERTIFICATE')
  })

  it.skipIf(!bundle)('codex exec (cold one-shot runs)', async () => {
    const launched: LaunchSpec[] = []
    const runner: ProcessRunner = {
      kind: 'local',
      start(spec) {
        launched.push(spec)
        throw new Error('recorded, not started')
      },
      reclaim: async () => false,
      describe: async () => ({ kind: 'local' }) as Awaited<ReturnType<ProcessRunner['describe']>>,
    }
    const driver = new CodexExecDriver(config, {}, runner)
    for (const isolation of [undefined, 'container'] as const) {
      const run = driver.run(
        { prompt: 'hi', cwd: '/tmp', ...(isolation ? { isolation } : {}) },
        new AbortController().signal,
      )
      await expect(async () => {
        for await (const _ of run) {
        }
      }).rejects.toThrow('recorded, not started')
    }
    expect(launched.map((s) => s.env?.CODEX_CA_CERTIFICATE)).toEqual([bundle, undefined])
  })
})

function systemBundle(): string | undefined {
  return codexSystemCaEnv({}).CODEX_CA_CERTIFICATE
}
