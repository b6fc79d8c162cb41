import type { ChildProcess, SpawnOptions } from 'node:child_process'
import { realpathSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import { pinnedCwdSource } from './pinned-cwd-source.js'

type Spawn = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess
type SpawnPinned = (
  spawn: Spawn,
  command: string,
  args: readonly string[],
  options: SpawnOptions & { cwd: string },
  beforeSpawn?: (fd: number) => void,
) => ChildProcess

let pinned: SpawnPinned | undefined
/** A test's seam between the check of the opened directory and the spawn (this thread's spawns only). */
let beforeSpawn: ((fd: number) => void) | undefined

/** spawn() in the directory `options.cwd` names now, held open (pinned-cwd-source.ts: the very text the host runs). */
export function spawnPinned(
  spawn: Spawn,
  command: string,
  args: readonly string[],
  options: SpawnOptions & { cwd: string },
): ChildProcess {
  pinned ??= new Function(
    'require',
    `${pinnedCwdSource}
return spawnPinned`,
  )(createRequire(import.meta.url)) as SpawnPinned
  return pinned(spawn, command, args, options, beforeSpawn)
}

/** Tests: runs `hook` after the directory was opened and checked, before the spawn (undefined: none). */
export function setBeforePinnedSpawn(hook: ((fd: number) => void) | undefined): void {
  beforeSpawn = hook
}

/**
 * A working directory of the gateway's own (the data dir, the temp dir) as the real path a child's cwd must be
 * (spawnPinned refuses one that is not); as it is if it cannot be resolved.
 */
export function realCwd(dir: string = os.tmpdir()): string {
  try {
    return realpathSync.native(dir)
  } catch {
    return dir
  }
}
