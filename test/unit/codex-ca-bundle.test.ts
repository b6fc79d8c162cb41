import { rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { codexSystemCaEnv, systemAnchor } from '../../src/agents/codex/ca-bundle.js'
import { CodexExecDriver } from '../../src/agents/codex/exec-driver.js'
import { appServerLaunch } from '../../src/agents/codex-app-server/app-server-launch.js'
import { loadConfig } from '../../src/config/load.js'
import type { LaunchSpec, ProcessRunner } from '../../src/process/runner.js'
import { tempDir } from '../support/temp.js'

const only = (file: string) => (f: string) => f === file

const noAnchor = () => null

describe('codexSystemCaEnv', () => {
  it('names the first system bundle that exists on Linux (where the store has no single-certificate files)', () => {
    expect(codexSystemCaEnv({}, 'linux', only('/etc/ssl/certs/ca-certificates.crt'), noAnchor)).toEqual({
      CODEX_CA_CERTIFICATE: '/etc/ssl/certs/ca-certificates.crt',
    })
    expect(codexSystemCaEnv({}, 'linux', only('/etc/pki/tls/certs/ca-bundle.crt'), noAnchor)).toEqual({
      CODEX_CA_CERTIFICATE: '/etc/pki/tls/certs/ca-bundle.crt',
    })
  })

  it('names one certificate of that bundle instead where the store has one as a file of its own', () => {
    const bundle = '/etc/ssl/certs/ca-certificates.crt'
    const anchorOf = (b: string) => (b === bundle ? '/etc/ssl/certs/0123abcd.0' : null)
    expect(codexSystemCaEnv({}, 'linux', only(bundle), anchorOf)).toEqual({
      CODEX_CA_CERTIFICATE: '/etc/ssl/certs/0123abcd.0',
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

/** A PEM certificate block whose body is `body` (the anchor lookup compares blocks, it does not parse them). */
const pem = (body: string) => `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`

describe('systemAnchor', () => {
  it('is the first hash-named file of the store that holds exactly one certificate the bundle holds too', () => {
    const dir = tempDir('ca-store-')
    const bundle = path.join(dir, 'bundle.crt')
    writeFileSync(bundle, `# comment\n${pem('QUFBQQ==')}${pem('QkJCQg==')}${pem('Q0NDQw==')}`)
    writeFileSync(path.join(dir, '00000000.0'), pem('WFhYWA==')) // not in the bundle
    writeFileSync(path.join(dir, '00000001.0'), pem('QUFBQQ==') + pem('QkJCQg==')) // two certificates
    writeFileSync(path.join(dir, '00000002.r0'), pem('QUFBQQ==')) // not a certificate's name (a CRL's)
    writeFileSync(path.join(dir, 'named.pem'), pem('QUFBQQ==')) // not hash-named
    writeFileSync(path.join(dir, '00000003.0'), pem('QkJC\nQg=='))
    writeFileSync(path.join(dir, '00000004.0'), pem('Q0NDQw=='))
    expect(systemAnchor(bundle, [path.join(dir, 'missing'), dir])).toBe(path.join(dir, '00000003.0'))
    // remembered; looked up again once that file is gone (the system store was rebuilt)
    rmSync(path.join(dir, '00000003.0'))
    expect(systemAnchor(bundle, [dir])).toBe(path.join(dir, '00000004.0'))
  })

  it('is null when no such file exists (codex then gets the whole bundle)', () => {
    const dir = tempDir('ca-store-')
    const bundle = path.join(dir, 'bundle.crt')
    writeFileSync(bundle, pem('QUFBQQ=='))
    writeFileSync(path.join(dir, '00000000.0'), pem('WFhYWA=='))
    expect(systemAnchor(bundle, [dir])).toBeNull()
    expect(systemAnchor(path.join(dir, 'no-bundle.crt'), [dir])).toBeNull()
  })
})

describe('every codex the gateway launches on this host gets its system CA file, none in a container', () => {
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
