import { describe, expect, it } from 'vitest'
import { lockedManagedSettings } from '../../src/agents/acp/copilot-lockdown.js'

describe("copilot's managed settings with hooks locked", () => {
  it('adds the hooks lockdown to no settings or to settings that lock nothing', () => {
    expect(lockedManagedSettings(undefined)).toEqual({ strictPluginOnlyCustomization: ['hooks'] })
    expect(lockedManagedSettings('{"deniedMcpServers":[]}')).toEqual({
      deniedMcpServers: [],
      strictPluginOnlyCustomization: ['hooks'],
    })
    expect(lockedManagedSettings('{"strictPluginOnlyCustomization":false}')).toEqual({
      strictPluginOnlyCustomization: ['hooks'],
    })
  })

  it("keeps the host's own lockdown and adds hooks to it", () => {
    expect(lockedManagedSettings('{"strictPluginOnlyCustomization":["mcp"]}')).toEqual({
      strictPluginOnlyCustomization: ['mcp', 'hooks'],
    })
    expect(lockedManagedSettings('{"strictPluginOnlyCustomization":["hooks"]}')).toEqual({
      strictPluginOnlyCustomization: ['hooks'],
    })
    expect(lockedManagedSettings('{"strictPluginOnlyCustomization":true}')).toEqual({
      strictPluginOnlyCustomization: true,
    })
  })

  it('replaces a file copilot would ignore (not a JSON object) by the lockdown alone', () => {
    for (const host of ['', 'not json', '[]', 'null', '"x"'])
      expect(lockedManagedSettings(host)).toEqual({ strictPluginOnlyCustomization: ['hooks'] })
  })
})
