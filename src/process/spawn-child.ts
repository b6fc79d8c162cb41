import type { ChildHandle, ChildSpec } from './child-handle.js'
import { pacedSpawn } from './paced-spawn.js'
import { spawnMustWait } from './spawn-pacing.js'
import { SpawnWorker } from './spawn-worker.js'

/** A spawn that held this thread longer than this is slow (a large or loaded gateway forks slowly). */
const slowSpawnMs = 20

let worker: SpawnWorker | undefined
/** Slow spawns so far: the second starts the worker (a lone one, the version probe at boot on a busy host, does not). */
let slowSpawns = 0
let starting: Promise<void> | undefined

function startWorker(): Promise<void> {
  starting ??= SpawnWorker.start().then((started) => {
    worker = started
  })
  return starting
}

/**
 * How the local runner spawns: on the spawn worker (spawn-worker.ts) once it runs; paced on this thread
 * (spawn-pacing.ts) until then, or when it cannot run. The worker (a thread, about 8 MB) starts once spawning
 * costs: a spawn that has to wait for its turn (a burst), or a second one that held this thread for long. A lone
 * spawn of an idle server (the probe at boot), even a slow one on a loaded host, starts no thread.
 */
export function spawnChild(spec: ChildSpec): ChildHandle {
  if (worker?.usable) return worker.spawn(spec)
  if (spawnMustWait()) void startWorker()
  return pacedSpawn(spec, (blockedMs) => {
    if (blockedMs > slowSpawnMs && ++slowSpawns >= 2) void startWorker()
  })
}

/** Whether the spawn worker runs now (tests and benchmarks). */
export function spawnWorkerRunning(): boolean {
  return worker?.usable ?? false
}

/** Starts the spawn worker now; resolves once it runs, or could not be started (tests and benchmarks). */
export async function spawnWorkerReady(): Promise<boolean> {
  await startWorker()
  return worker?.usable ?? false
}
