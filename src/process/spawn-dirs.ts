import os from 'node:os'
import { makeOwnedDir, type OwnedDirKind } from './owned-dirs.js'

/**
 * The spawn host's listener directories: `agent-gateway-spawn-<pid>-<random>` in the temp dir, each with its
 * owner file inside (owned-dirs.ts): the next gateway to start removes those a killed gateway left (temp-dirs.ts).
 */
export const spawnDirs: OwnedDirKind = { prefix: 'agent-gateway-spawn-', owner: 'inside' }

/** Makes a listener directory in `tmp`, owned (by its owner file) by this process. */
export function makeSpawnDir(tmp = os.tmpdir()): string {
  return makeOwnedDir(spawnDirs, tmp)
}
