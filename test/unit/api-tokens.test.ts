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
  expect(() => loadConfig({ API_TOKENS: 'ci:t0k:read', WORKSPACE_DIR: '/tmp/agw' }, '/tmp/agw')).not.toThrow()
})
