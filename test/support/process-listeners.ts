/**
 * The listeners on `process` (exit, signals, uncaughtException, …) as a test file found them: one it adds and
 * leaves (a server's SIGTERM handler, a cleanup on exit) stays for every later file of a worker that shares its
 * process (test/unit), runs at their signals and exit, and holds what it closes over. Checked after each file by
 * test/support/state-check.ts.
 */
type Listener = ReturnType<typeof process.rawListeners>[number]
export type Listeners = Map<string | symbol, Listener[]>

/**
 * Listeners that stay for the process by design, by event and function name: the spawn host a process starts
 * once (src/process/spawn-host.ts) removes its directory at exit: the first file of a worker to spawn did not
 * leave it behind, nor a file in which a host died and another took its place.
 */
const processWide = new Map<string | symbol, string[]>([['exit', ['removeSpawnHostDir']]])

/** The function a listener calls (a `once` listener's raw form is a wrapper around it). */
const called = (listener: Listener) => (listener as { listener?: Listener }).listener ?? listener
const allowed = (event: string | symbol, listener: Listener) =>
  processWide.get(event)?.includes(called(listener).name) ?? false

/** `rawListeners`: a `once` listener is its wrapper, which `removeListener` takes back as it is. */
export function captureListeners(): Listeners {
  const listeners: Listeners = new Map()
  for (const event of process.eventNames()) listeners.set(event, process.rawListeners(event))
  return listeners
}

const eventName = (event: string | symbol) => (typeof event === 'symbol' ? event.toString() : `'${event}'`)
const count = (n: number) => `${n} listener${n === 1 ? '' : 's'}`

/** Takes off the listeners added since `before` and puts back those removed; says what differed, per event. */
export function restoreListeners(before: Listeners): string[] {
  const changed: string[] = []
  const events = new Set([...before.keys(), ...process.eventNames()])
  for (const event of events) {
    const was = before.get(event) ?? []
    const now = process.rawListeners(event)
    if (now.length === was.length && now.every((l, i) => l === was[i])) continue
    const added = now.filter((l) => !was.includes(l) && !allowed(event, l))
    const removed = was.filter((l) => !now.includes(l) && !allowed(event, l))
    for (const l of added) process.removeListener(event, l as (...args: unknown[]) => void)
    for (const l of removed) process.on(event, l as (...args: unknown[]) => void)
    if (added.length) changed.push(`process ${eventName(event)}: ${count(added.length)} added`)
    if (removed.length) changed.push(`process ${eventName(event)}: ${count(removed.length)} removed`)
  }
  return changed
}
