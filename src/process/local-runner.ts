import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { endEscaped } from './escaped-processes.js'
import { endMarked } from './marked-processes.js'
import { killOrphanedGroup } from './orphans.js'
import { newMarker } from './process-marker.js'
import type { LaunchSpec, Leftover, ProcessRunner, RunnerInfo, RunningProcess } from './runner.js'
import { stagedDirToken, wrappedProcess } from './runner.js'
import { spawnGroup } from './spawn-group.js'
import { makeStagedDir, removeStagedDir } from './staged-dirs.js'

/**
 * The first ProcessRunner: a local process group per program (spawn-group.ts), its files staged in a temp
 * directory (staged-dirs.ts), its leftovers in other sessions swept after it ended and before its `done`
 * (marked-processes.ts), and what escaped its tree while it runs on swept when asked (escaped-processes.ts).
 */
export class LocalProcessRunner implements ProcessRunner {
  readonly kind = 'local'

  /** `outputDrainMs`: OUTPUT_DRAIN_MS (spawn-group.ts). */
  constructor(private readonly options: { outputDrainMs?: number } = {}) {}

  start(spec: LaunchSpec): RunningProcess {
    let staging: string | undefined
    let args = spec.args
    if (spec.files?.length) {
      staging = makeStagedDir()
      for (const file of spec.files) writeFileSync(path.join(staging, path.basename(file.name)), file.content)
      const dir = staging
      args = args.map((a) => a.replaceAll(stagedDirToken, dir))
    }
    const marker = spec.sweepLeftovers ? (spec.marker ?? newMarker()) : undefined
    const proc = spawnGroup({
      command: spec.command,
      args,
      cwd: spec.cwd,
      env: spec.env,
      killGraceMs: spec.killGraceMs,
      ...(marker ? { marker } : {}),
      ...(this.options.outputDrainMs !== undefined ? { outputDrainMs: this.options.outputDrainMs } : {}),
      ...(spec.stdin !== undefined ? { stdin: spec.stdin } : {}),
      ...(spec.timeoutMs !== undefined ? { timeoutMs: spec.timeoutMs } : {}),
      ...(spec.signal ? { signal: spec.signal } : {}),
    })
    // the end waits for the sweep: what the program left in sessions of its own (codex's shell snapshot, started
    // late) is gone once `done` resolves, so a run's end is told after it; the sweep looks only at the pids given
    // out since the program's (pid-window.ts), or else reads only what started since it did
    const done = proc.done.then(async (outcome) => {
      if (marker) await endMarked(marker, spec.killGraceMs, proc.startTime, proc.pidWindow)
      if (staging) removeStagedDir(staging)
      return outcome
    })
    if (!marker) return wrappedProcess(proc, done)
    return wrappedProcess(proc, done, {
      endEscaped: (scope) =>
        proc.pid === undefined ? Promise.resolve() : endEscaped(proc.pid, marker, scope, spec.killGraceMs),
    })
  }

  async reclaim(leftover?: Leftover): Promise<boolean> {
    return leftover ? killOrphanedGroup(leftover.pid, leftover.command) : false
  }

  async describe(): Promise<RunnerInfo> {
    return { kind: 'local', available: true }
  }
}

/** The runner used when none is injected (tests and scripts that build a driver by hand). */
export const localRunner: ProcessRunner = new LocalProcessRunner()
