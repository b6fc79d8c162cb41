import { chmodSync, mkdirSync } from 'node:fs'
import type { SessionImageDir } from '../agents/session.js'
import { makeOwnedDir, removeOwnedDirAsync } from '../process/owned-dirs.js'
import { runImageDirs, runImagesIn } from './staged-images.js'

/**
 * A container session's image directory (SessionRequest.imageDir): `DATA_DIR/run-images/<session>-<random>`, its
 * owner file beside it as a run's copies have (so the one leftover sweep, sweepRunImages, removes it when a killed
 * gateway left it), made when the session's container starts and mounted there read-only. Each turn's images are
 * copied into a directory of the turn's own in it (staged-images.ts, with `into`), removed once the turn ended;
 * the directory goes when its container ended. Mode 0711: the container's user, who may not be the gateway's
 * (CONTAINER_USER), reaches the copies through the mount; nobody lists it, and `run-images` (0700) hides it on the
 * host.
 */
export function sessionImageDir(dataDir: string, sessionId: string): () => SessionImageDir {
  return () => {
    const base = runImagesIn(dataDir)
    mkdirSync(base, { recursive: true, mode: 0o700 })
    const dir = makeOwnedDir(runImageDirs, base, sessionId)
    const remove = () => removeOwnedDirAsync(runImageDirs, dir)
    try {
      chmodSync(dir, 0o711)
    } catch (err) {
      void remove()
      throw err
    }
    return { path: dir, remove }
  }
}
