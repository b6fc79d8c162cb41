import type { ChildHandle, ChildSpec } from './child-handle.js'
import { deferredChild } from './deferred-child.js'
import { pacedSpawn } from './paced-spawn.js'
import { SpawnHost } from './spawn-host.js'

let host: SpawnHost | undefined
let starting: Promise<void> | undefined
/** The host's start is over: it runs (or ran, and died), or it could not start. */
let started = false
/** When the current host was started (performance.now()). */
let startedAt = 0
/** Spawns so far: the first does not start the host. */
let spawns = 0

/**
 * A host that died after living this long is replaced at the next spawn; one that died sooner (or never started)
 * is not: spawns stay on this thread rather than restarting a host that cannot live, in a loop.
 */
const replaceAfterMs = 60_000

function startHost(): Promise<void> {
  starting ??= SpawnHost.start().then((running) => {
    host = running
    started = true
    startedAt = performance.now()
  })
  return starting
}

/** The host died after a long life (killed by hand, or by the OOM killer): start another. */
function replaceable(): boolean {
  if (!host || host.usable || performance.now() - startedAt < replaceAfterMs) return false
  host = undefined
  starting = undefined
  started = false
  return true
}

/**
 * How the local runner spawns: from the spawn host (spawn-host.ts), which the second spawn starts (spawns wait for
 * it while it starts, tens of ms), so this process forks once at most. The first spawn, on this thread, is the
 * version probe at boot (forking a process that just started costs little): a server that spawns nothing else
 * runs no host. Paced on this thread (spawn-pacing.ts) when the host could not start, or died young.
 *
 * A spawn the host had not reported when it died is spawned again (`retries`: once), as a new spawn would be (a
 * replacement host, or this thread), after the dead host's leftovers are gone; so is every spawn that comes
 * meanwhile, so the sweep of those leftovers cannot take a newer child for one of them.
 */
export function spawnChild(spec: ChildSpec, retries = 1): ChildHandle {
  if (host?.usable) return host.spawn(spec, retries > 0 ? () => spawnChild(spec, retries - 1) : undefined)
  if (host && !host.hasEnded) {
    const again = () => spawnChild(spec, retries)
    return deferredChild(host.ended.then(again, again))
  }
  if ((started && !replaceable()) || ++spawns === 1) return pacedSpawn(spec)
  return deferredChild(startHost().then(() => (host ? spawnChild(spec, retries) : pacedSpawn(spec))))
}

/** The spawn host if it runs now (host-pass.ts has it scan /proc); undefined when there is none. */
export function runningSpawnHost(): SpawnHost | undefined {
  return host?.usable ? host : undefined
}

/** Whether the spawn host runs now (tests and benchmarks). */
export function spawnHostRunning(): boolean {
  return host?.usable ?? false
}

/** Starts the spawn host now; resolves once it runs, or could not be started (tests and benchmarks). */
export async function spawnHostReady(): Promise<boolean> {
  await startHost()
  return host?.usable ?? false
}
