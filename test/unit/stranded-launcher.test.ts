import { afterEach, describe, expect, it } from 'vitest'
import { procScan } from '../../src/process/proc-scan.js'
import { procTable } from '../../src/process/proc-table.js'
import { markerVariable } from '../../src/process/process-marker.js'
import { startOrphan } from '../support/processes.js'

/**
 * Real processes in the state codex's sandbox launcher is left in when codex kills a launch in the instant after
 * bwrap forked (seen in CI: file-system helpers alive long after their run): a process whose argv[0] is `bwrap`,
 * holding an eventfd, whose parent is gone. bwrap itself is codex's own copy, which cannot be started alone: node
 * stands in (libuv holds eventfds), bash for a process without one. Each is started in the background by a shell
 * that exits at once (so it escaped this process's tree) and says `ready` once it runs.
 */
const started: number[] = []
afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {} // gone
  }
})

async function orphan(argv0: string, command: string, marker: string): Promise<number> {
  const pid = await startOrphan(argv0, command, { [markerVariable]: marker })
  started.push(pid)
  return pid
}

const nodeWaiting = `node -e "console.log('ready'); setInterval(() => {}, 60000)"`
const bashWaiting = `bash -c 'echo ready; read -t 60 line'`

describe('a launcher stranded before it started its command, on the real /proc', () => {
  it('waitsToStart: argv[0] bwrap and an eventfd held; the escaped sweep takes it whatever the scope', async () => {
    const marker = `m-${process.pid}-${Date.now()}`
    const stranded = await orphan('bwrap', nodeWaiting, marker)
    const noEventfd = await orphan('bwrap', bashWaiting, marker)
    const notLauncher = await orphan('node', nodeWaiting, marker)
    const table = procTable()
    expect([stranded, noEventfd, notLauncher].map((pid) => table.waitsToStart(pid))).toEqual([
      true,
      false,
      false,
    ])
    // the agent (root) is this process: none of them descends from it any more
    const scope = { within: [], except: [] }
    expect(procScan().escapedProcesses(procTable(), process.pid, marker, scope, [process.pid])).toEqual([
      stranded,
    ])
    expect(procScan().escapedProcesses(procTable(), process.pid, 'another', scope, [process.pid])).toEqual([])
  })
})
