import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseApiTokens } from '../../src/config/api-tokens.js'
import { ConfigError } from '../../src/config/config-error.js'

describe('API_TOKENS entries', () => {
  it('a bare token has every scope and a positional name; named entries carry scopes and a tenant', () => {
    const [bare, dash, ci] = parseApiTokens(['s3cret', 'dash:abc123:read', 'ci:t0k:read+run:team-a'])
    expect(bare).toMatchObject({ name: 'token-1', token: 's3cret', tenant: null })
    expect([...bare!.scopes].sort()).toEqual(['admin', 'approve', 'read', 'run'])
    expect(dash).toMatchObject({ name: 'dash', token: 'abc123', tenant: null })
    expect([...dash!.scopes]).toEqual(['read'])
    expect(ci).toMatchObject({ name: 'ci', tenant: 'team-a' })
    expect([...ci!.scopes].sort()).toEqual(['read', 'run'])
  })

  it('admin grants every scope', () => {
    expect([...parseApiTokens(['root:x:admin'])[0]!.scopes].sort()).toEqual([
      'admin',
      'approve',
      'read',
      'run',
    ])
  })

  it.each([
    ['dash:hunter2:write', 'unknown scope "write"'],
    ['dash:hunter2', 'expected <token> or <name>:<token>:<scopes>'],
    ['dash::read', 'the token is empty'],
    ['bad name:hunter2:read', 'the name must match'],
    ['dash:hunter2:read:bad tenant', 'the tenant must match'],
    ['a:b:c:d:e', 'expected <token>'],
  ])('refuses %s without echoing the secret', (entry, message) => {
    let thrown: unknown
    try {
      parseApiTokens([entry])
    } catch (err) {
      thrown = err
    }
    expect(thrown).toBeInstanceOf(ConfigError)
    expect((thrown as Error).message).toContain(message)
    expect((thrown as Error).message).not.toContain('hunter2')
  })

  it('refuses a name used twice', () => {
    expect(() => parseApiTokens(['a:x:read', 'a:y:run'])).toThrow('used twice')
  })
})

it('tenants live in TENANTS_DIR (default DATA_DIR/tenants), which may not overlap a workspace root', async () => {
  const { loadConfig } = await import('../../src/config/load.js')
  const tenanted = { API_TOKENS: 'ci:t0k:read:team-a' }
  expect(loadConfig(tenanted, '/tmp/agw').tenantsDir).toBe('/tmp/agw/data/tenants')
  expect(loadConfig({ ...tenanted, TENANTS_DIR: '/srv/tenants' }, '/tmp/agw').tenantsDir).toBe('/srv/tenants')
  // Inside the workspace an untenanted token could read a tenant's files; containing it, the other way round.
  expect(() => loadConfig({ ...tenanted, WORKSPACE_DIR: '/tmp/agw' }, '/tmp/agw')).toThrow(
    /TENANTS_DIR .* overlaps the workspace root \/tmp\/agw/,
  )
  expect(() => loadConfig({ ...tenanted, TENANTS_DIR: '/tmp' }, '/tmp/agw')).toThrow(/overlaps/)
  // Without a tenant token, nothing lives there: an overlapping layout is no error.
  expect(() =>
    loadConfig(
      { API_TOKENS: 'ci:t0k:read', WORKSPACE_DIR: '/tmp/agw/ws', TENANTS_DIR: '/tmp/agw/ws/t' },
      '/tmp/agw',
    ),
  ).not.toThrow()
})

it("refuses a workspace root that contains the gateway's own state", async () => {
  const { loadConfig } = await import('../../src/config/load.js')
  const home = { HOME: '/home/agw' }
  // the defaults: the workspace root inside DATA_DIR, not around it
  expect(() => loadConfig(home, '/tmp/agw')).not.toThrow()
  expect(() => loadConfig({ ...home, WORKSPACE_DIR: '.' }, '/tmp/agw')).toThrow(
    /workspace root \/tmp\/agw contains DATA_DIR \(\/tmp\/agw\/data\)/,
  )
  expect(() => loadConfig({ ...home, WORKSPACE_ROOTS: '/tmp' }, '/tmp/agw')).toThrow(/contains DATA_DIR/)
  expect(() =>
    loadConfig({ ...home, CODEX_HOME: '/srv/ws/.codex', WORKSPACE_ROOTS: '/srv/ws' }, '/tmp/agw'),
  ).toThrow(/contains CODEX_HOME/)
  expect(() => loadConfig({ ...home, WORKSPACE_ROOTS: '/home' }, '/tmp/agw')).toThrow(/contains HOME/)
  expect(() => loadConfig({ ...home, WORKSPACE_ROOTS: '/' }, '/tmp/agw')).toThrow(/contains DATA_DIR/)
  const withEnv = mkdtempSync(path.join(os.tmpdir(), 'agw-dotenv-'))
  try {
    writeFileSync(path.join(withEnv, '.env'), 'CODEX_API_KEY=sk-in-dotenv\n')
    expect(() =>
      loadConfig({ ...home, WORKSPACE_ROOTS: withEnv, DATA_DIR: '/srv/agw-data' }, withEnv),
    ).toThrow(/contains the .env file/)
  } finally {
    rmSync(withEnv, { recursive: true })
  }
  const packageDir = path.resolve(import.meta.dirname, '../..')
  expect(() =>
    loadConfig({ ...home, WORKSPACE_ROOTS: path.dirname(packageDir), DATA_DIR: '/srv/agw-data' }, '/tmp/agw'),
  ).toThrow(/contains the gateway’s own files/)
})
