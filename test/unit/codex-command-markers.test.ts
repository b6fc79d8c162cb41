import { describe, expect, it } from 'vitest'
import {
  includeOnlyKeepingMarkers,
  includeOnlyOverride,
  markerOverride,
} from '../../src/agents/codex/command-markers.js'

describe('codex command markers', () => {
  it("the process marker and the server's are entries of shell_environment_policy.set, TOML strings", () => {
    expect(markerOverride('a-b', '12:345')).toEqual([
      '-c',
      'shell_environment_policy.set.AGENT_GATEWAY_APP_SERVER="a-b"',
      '-c',
      'shell_environment_policy.set.AGENT_GATEWAY_SERVER="12:345"',
    ])
  })

  it('an empty include_only keeps every variable: nothing is added', () => {
    expect(includeOnlyKeepingMarkers([])).toBeUndefined()
    expect(includeOnlyOverride(undefined)).toEqual([])
  })

  it("an operator's include_only gets the markers' names it lacks, after its own patterns", () => {
    const kept = includeOnlyKeepingMarkers(['PATH', 'AGENT_GATEWAY_THREAD'])
    expect(kept).toEqual(['PATH', 'AGENT_GATEWAY_THREAD', 'AGENT_GATEWAY_APP_SERVER', 'AGENT_GATEWAY_SERVER'])
    expect(includeOnlyOverride(kept)).toEqual([
      '-c',
      'shell_environment_policy.include_only=["PATH","AGENT_GATEWAY_THREAD","AGENT_GATEWAY_APP_SERVER","AGENT_GATEWAY_SERVER"]',
    ])
    expect(
      includeOnlyKeepingMarkers(['AGENT_GATEWAY_APP_SERVER', 'AGENT_GATEWAY_THREAD', 'AGENT_GATEWAY_SERVER']),
    ).toBeUndefined()
  })
})
