import os from 'node:os'
import { sweepOwnedDirs } from './owned-dirs.js'
import { spawnDirs } from './spawn-dirs.js'
import { stagedDirs } from './staged-dirs.js'

/**
 * Removes what killed gateways of this user left in the temp dir, in one readdir of it (it can be large): the
 * spawn host's listener directories and the runs' staged files, each only when owned-dirs.ts proves its maker
 * gone. Resolves with how many directories went.
 */
export function sweepTempDirs(tmp = os.tmpdir(), signal?: AbortSignal): Promise<number> {
  return sweepOwnedDirs([spawnDirs, stagedDirs], tmp, signal)
}
