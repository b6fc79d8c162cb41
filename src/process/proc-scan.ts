import { createRequire } from 'node:module'
import type { EscapeScope } from './escaped-processes.js'
import type { PidCounters, PidWindow } from './pid-window.js'
import { procScanSource } from './proc-scan-source.js'
import type { ProcStat } from './proc-stat.js'
import type { ProcessTable } from './proc-table.js'

/** The functions of proc-scan-source.ts (there: what each does), typed. */
export interface ProcScan {
  procStat(pid: number): ProcStat | null
  procTable(): ProcessTable
  realDir(dir: string): string
  markerIn(
    environ: readonly string[],
    variable: string,
    markers: ReadonlyMap<string, unknown>,
  ): string | undefined
  pidCounters(): PidCounters | null
  windowTest(windows: readonly PidWindow[] | undefined): ((pid: number) => boolean) | undefined
  windowPids(
    windows: readonly PidWindow[],
    except: readonly number[],
    probeAtMost?: number,
  ): number[] | undefined
  signalMarked(
    variable: string,
    markers: ReadonlyMap<string, NodeJS.Signals | 0>,
    except: readonly number[],
    since?: number,
    windows?: readonly PidWindow[],
  ): Set<string>
  signalMarkedAmong(
    variable: string,
    markers: ReadonlyMap<string, NodeJS.Signals | 0>,
    pids: readonly number[],
  ): Set<string>
  escapedProcesses(
    table: ProcessTable,
    root: number,
    marker: string,
    scope: EscapeScope,
    except: readonly number[],
  ): number[]
  signalEscaped(
    root: number,
    marker: string,
    scope: EscapeScope,
    signal: NodeJS.Signals | 0,
    except: readonly number[],
  ): number
}

let scan: ProcScan | undefined

/**
 * The /proc reads and scans on this thread: the very source the spawn host runs (proc-scan-source.ts), evaluated
 * once, so the two cannot differ.
 */
export function procScan(): ProcScan {
  scan ??= new Function(
    'require',
    `${procScanSource}
return { procStat, procTable, realDir, markerIn, pidCounters, windowTest, windowPids, signalMarked, signalMarkedAmong,
  escapedProcesses, signalEscaped }`,
  )(createRequire(import.meta.url)) as ProcScan
  return scan
}
