import type { ChildHandle, ChildSpec } from './child-handle.js'
import { pacedSpawn } from './paced-spawn.js'
import { SpawnWorker } from './spawn-worker.js'

let worker: SpawnWorker | undefined
let starting: Promise<void> | undefined

/**
 * How the local runner spawns: on the spawn worker (spawn-worker.ts) once it runs; paced on this thread
 * (spawn-pacing.ts) while it starts (the first spawn starts it) or when it cannot run.
 */
export function spawnChild(spec: ChildSpec): ChildHandle {
  if (worker?.usable) return worker.spawn(spec)
  starting ??= SpawnWorker.start().then((started) => {
    worker = started
  })
  return pacedSpawn(spec)
}

/** Resolves once the spawn worker runs, or could not be started (tests and benchmarks). */
export async function spawnWorkerReady(): Promise<boolean> {
  starting ??= SpawnWorker.start().then((started) => {
    worker = started
  })
  await starting
  return worker?.usable ?? false
}
