import { describe, expect, it } from 'vitest'
import { procScan } from '../../src/process/proc-scan.js'
import type { ProcessTable } from '../../src/process/proc-table.js'
import { markerVariable, ownerVariable } from '../../src/process/process-marker.js'

/** A fake process table: pid -> parent, cwd, marker, owner; `waiting`: the stranded launchers. */
function table(
  rows: [pid: number, ppid: number, cwd: string, marker: string | null, owner?: string][],
  waiting: number[] = [],
): ProcessTable {
  const byPid = new Map(rows.map(([pid, ppid, cwd, marker, owner]) => [pid, { ppid, cwd, marker, owner }]))
  return {
    pids: () => [...byPid.keys()],
    cwd: (pid) => byPid.get(pid)?.cwd ?? null,
    ppid: (pid) => byPid.get(pid)?.ppid ?? null,
    waitsToStart: (pid) => waiting.includes(pid),
    environ: (pid) => {
      const p = byPid.get(pid)
      if (!p) return null
      return [
        'PATH=/bin',
        ...(p.marker ? [`${markerVariable}=${p.marker}`] : []),
        ...(p.owner ? [`${ownerVariable}=${p.owner}`] : []),
      ]
    },
  }
}

const root = 100
const self = 1

const { escapedProcesses } = procScan()

/** The scan the spawn host runs, and this thread without a host (proc-scan-source.ts: one text for both). */
describe('escapedProcesses: what left the agent process tree, attributed by cwd', () => {
  const procs = table([
    [100, 50, '/srv', 'm'], // the app-server
    [101, 100, '/ws/a', 'm'], // its background terminal in a's workspace
    [102, 101, '/ws/a', 'm'], // a grandchild of it
    [200, 1, '/ws/a', 'm'], // escaped from a run in a
    [201, 200, '/ws/a/sub', 'm'], // its child, deeper in a
    [300, 1, '/ws/b', 'm'], // escaped from a run in b
    [400, 1, '/ws/a', 'other'], // another app-server's
    [401, 1, '/ws/a', null], // no marker (another program of this user)
    [500, 77, '/ws/ab', 'm'], // a sibling directory that shares a's prefix
  ])

  it('takes the marked processes in the ended cwd whose parent chain does not reach the agent', () => {
    expect(escapedProcesses(procs, root, 'm', { within: ['/ws/a'], except: [] }, [self]).sort()).toEqual([
      200, 201,
    ])
  })

  it('never takes a pid it is told to leave (the spawn host, its gateway)', () => {
    expect(escapedProcesses(procs, root, 'm', { within: ['/ws/a'], except: [] }, [200])).toEqual([201])
  })

  it('leaves a directory a live turn works in, or above', () => {
    expect(escapedProcesses(procs, root, 'm', { within: ['/ws/a'], except: ['/ws/a'] }, [self])).toEqual([])
    expect(escapedProcesses(procs, root, 'm', { within: ['/ws/a'], except: ['/ws'] }, [self])).toEqual([])
  })

  it('leaves what works in a live turn directory below the ended one', () => {
    expect(
      escapedProcesses(procs, root, 'm', { within: ['/ws'], except: ['/ws/a/sub'] }, [self]).sort(),
    ).toEqual([200, 300, 500])
  })

  it('a descendant of the agent is never taken, however deep', () => {
    const deep = table([
      [100, 1, '/srv', 'm'],
      [110, 100, '/ws', 'm'],
      [120, 110, '/ws', 'm'],
      [130, 120, '/ws', 'm'],
    ])
    expect(escapedProcesses(deep, root, 'm', { within: ['/ws'], except: [] }, [self])).toEqual([])
  })

  it('a parent chain that is gone (exited meanwhile) counts as escaped', () => {
    const broken = table([[210, 999, '/ws', 'm']])
    expect(escapedProcesses(broken, root, 'm', { within: ['/ws'], except: [] }, [self])).toEqual([210])
  })

  describe('by owner (the thread codex names in the environment of its commands)', () => {
    const owned = table([
      [100, 1, '/srv', 'm'], // the app-server
      [110, 100, '/ws/a', 'm', 't1'], // t1's background terminal
      [210, 1, '/', 'm', 't1'], // escaped from t1, working elsewhere
      [220, 1, '/ws/a', 'm', 't2'], // escaped from t2, in the same workspace
      [230, 1, '/ws/a', 'm'], // escaped, names no owner
      [240, 1, '/ws/a', 'x', 't1'], // another app-server's
    ])

    it("takes what names the ended turn's owner wherever it works, and what names none by directory", () => {
      expect(
        escapedProcesses(owned, root, 'm', { within: ['/ws/a'], except: [], owner: 't1' }, [self]).sort(),
      ).toEqual([210, 230])
    })

    it("never takes what names another owner, even in the ended turn's directory", () => {
      expect(
        escapedProcesses(owned, root, 'm', { within: ['/ws/a'], except: ['/ws'], owner: 't1' }, [self]),
      ).toEqual([210])
      expect(escapedProcesses(owned, root, 'm', { within: ['/ws/a'], except: [] }, [self])).toEqual([230])
    })
  })

  describe('a launcher stranded before it started its command (its parent died before it let it run)', () => {
    const stranded = table(
      [
        [100, 1, '/srv', 'm'], // the app-server
        [110, 100, '/', 'm'], // a launcher of its own, under way
        [210, 1, '/', 'm'], // stranded: escaped, marked, waiting
        [220, 1, '/', 'x'], // another app-server's
        [230, 1, '/', 'm'], // escaped, marked, not a waiting launcher
      ],
      [110, 210, 220],
    )

    it('is taken by any sweep of its agent, whatever the scope; one under way and the others never', () => {
      expect(escapedProcesses(stranded, root, 'm', { within: ['/ws/a'], except: [] }, [self])).toEqual([210])
      expect(escapedProcesses(stranded, root, 'm', { within: [], except: ['/'] }, [self])).toEqual([210])
      expect(escapedProcesses(stranded, root, 'm', { within: [], except: [], owner: 't1' }, [self])).toEqual([
        210,
      ])
      expect(escapedProcesses(stranded, root, 'm', { within: [], except: [] }, [210])).toEqual([])
    })
  })
})
