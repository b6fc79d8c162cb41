import { describe, expect, it } from 'vitest'
import { serverProcesses } from '../../src/process/exit-sweep.js'
import type { ProcessTable } from '../../src/process/proc-table.js'
import { serverMarkerIn } from '../../src/process/server-marker.js'

const table = (environs: Record<number, string[]>): ProcessTable => ({
  pids: () => Object.keys(environs).map(Number),
  cwd: () => null,
  ppid: () => null,
  environ: (pid) => environs[pid] ?? null,
  waitsToStart: () => false,
})

describe('serverMarkerIn', () => {
  it('reads the marker under its own name first, else under a name that ends with _ + it', () => {
    expect(serverMarkerIn(['AGENT_GATEWAY_SERVER=1:2', 'GEMINI_CLI_AGENT_GATEWAY_SERVER=3:4'])).toBe('1:2')
    expect(serverMarkerIn(['PATH=/bin', 'GEMINI_CLI_AGENT_GATEWAY_SERVER=3:4'])).toBe('3:4')
  })

  it('finds none in a value, in a name that only begins with it, or without an environment', () => {
    expect(serverMarkerIn(['X=AGENT_GATEWAY_SERVER=1:2', 'X=a_AGENT_GATEWAY_SERVER=1:2'])).toBeUndefined()
    expect(serverMarkerIn(['AGENT_GATEWAY_SERVERX=1:2', 'XAGENT_GATEWAY_SERVER=1:2'])).toBeUndefined()
    expect(serverMarkerIn(null)).toBeUndefined()
  })
})

describe('serverProcesses', () => {
  it("finds this server's processes by its marker (either name) or by a marker whose sweep is pending", () => {
    const found = serverProcesses(
      table({
        101: ['AGENT_GATEWAY_SERVER=9:1'],
        102: ['GEMINI_CLI_AGENT_GATEWAY_SERVER=9:1'],
        103: ['AGENT_GATEWAY_SERVER=8:1'],
        104: ['AGENT_GATEWAY_APP_SERVER=m-1'],
        105: ['AGENT_GATEWAY_APP_SERVER=m-2'],
        106: [],
        107: ['AGENT_GATEWAY_SERVER=9:1'],
      }),
      ['m-1'],
      '9:1',
      107,
    )
    expect(found).toEqual([101, 102, 104])
  })
})
