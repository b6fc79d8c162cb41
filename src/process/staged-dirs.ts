import os from 'node:os'
import { makeOwnedDir, type OwnedDirKind, removeOwnedDir } from './owned-dirs.js'

/**
 * The directories the runners stage a launch's files in: `agent-gateway-staged-<pid>-<random>` in the temp
 * dir. A container mounts one, so its owner file is beside it (`<dir>.owner`, owned-dirs.ts), never in what the
 * agent sees. A starting gateway removes those a killed gateway left (temp-dirs.ts).
 */
export const stagedDirs: OwnedDirKind = { prefix: 'agent-gateway-staged-', owner: 'beside' }

/** Makes a staging directory in `tmp` (mode 0700), owned by this process. */
export function makeStagedDir(tmp = os.tmpdir()): string {
  return makeOwnedDir(stagedDirs, tmp)
}

/** Removes a staging directory and its owner file, once the launch ended. */
export function removeStagedDir(dir: string): void {
  removeOwnedDir(stagedDirs, dir)
}
