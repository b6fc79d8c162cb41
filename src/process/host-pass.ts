import { runningSpawnHost } from './spawn-child.js'
import type { SpawnHost } from './spawn-host.js'

/** How long a pass in the host may take before it is done here instead. */
export const hostPassTimeoutMs = 10_000

/**
 * A /proc pass (the sweeps of marked-processes.ts and escaped-processes.ts) in the spawn host when it runs, so no
 * scan runs on this thread; `here` (synchronous, on this thread) when there is none, or it died, or it did not
 * answer within `timeoutMs` (hostPassTimeoutMs: a hung host cannot stop the sweeps).
 */
export async function inSpawnHost<T>(
  inHost: (host: SpawnHost) => Promise<T>,
  here: () => T,
  timeoutMs = hostPassTimeoutMs,
): Promise<T> {
  const host = runningSpawnHost()
  if (!host) return here()
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    // not unref'd: the pass keeps the process alive until answered (a run's end waits for it: marker-sweeps.ts)
    timer = setTimeout(() => reject(new Error('the spawn host did not answer')), timeoutMs)
  })
  try {
    return await Promise.race([inHost(host), late])
  } catch {
    return here()
  } finally {
    clearTimeout(timer)
  }
}
