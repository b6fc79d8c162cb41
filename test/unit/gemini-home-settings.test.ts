import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { defaultGeminiSettings, ensureGeminiSettings, settingsFile } from '../../src/agents/gemini/home.js'
import { tempDir } from '../support/temp.js'

const read = (home: string) => JSON.parse(readFileSync(settingsFile(home), 'utf8'))
const existing = (content: string) => {
  const home = tempDir('gemini-home-')
  mkdirSync(path.join(home, '.gemini'))
  writeFileSync(settingsFile(home), content)
  return home
}

/**
 * The Gemini home's settings keep the workspace's environment files out (security.auth.useExternal,
 * advanced.ignoreLocalEnv): a fresh home gets the defaults, an existing one the two keys it does not set.
 */
describe('ensureGeminiSettings', () => {
  it('writes the defaults into a fresh home', async () => {
    const home = tempDir('gemini-home-')
    await ensureGeminiSettings(home)
    expect(read(home)).toEqual(defaultGeminiSettings)
    expect(read(home)).toMatchObject({
      security: { auth: { useExternal: true } },
      advanced: { ignoreLocalEnv: true },
    })
  })

  it('adds the two keys to a home written before them, keeping the rest', async () => {
    const home = existing(
      JSON.stringify({
        security: { auth: { selectedType: 'oauth-personal' } },
        advanced: { dnsResolutionOrder: 'ipv4first' },
      }),
    )
    await ensureGeminiSettings(home)
    expect(read(home)).toEqual({
      security: { auth: { selectedType: 'oauth-personal', useExternal: true } },
      advanced: { dnsResolutionOrder: 'ipv4first', ignoreLocalEnv: true },
    })
  })

  it("keeps the operator's explicit values and a file with comments as they are", async () => {
    const explicit = JSON.stringify({
      security: { auth: { useExternal: false } },
      advanced: { ignoreLocalEnv: false },
    })
    const home = existing(explicit)
    await ensureGeminiSettings(home)
    expect(readFileSync(settingsFile(home), 'utf8')).toBe(explicit)
    const commented = '{\n  // mine\n  "ui": {}\n}\n'
    const other = existing(commented)
    await ensureGeminiSettings(other)
    expect(readFileSync(settingsFile(other), 'utf8')).toBe(commented)
  })
})
