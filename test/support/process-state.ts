/**
 * What one test file may change for every file after it in the same worker (test/unit shares a worker's
 * modules and globals: vitest.config.ts, `isolate: false`): the timer functions, the clocks, fetch, globalThis,
 * process.env, the working directory, the process's listeners (process-listeners.ts), its exit code and umask.
 * `captureState` notes them; `restoreState` puts back what differs and says what that was. Checked after each
 * test file by test/support/state-check.ts.
 */
import { isMainThread } from 'node:worker_threads'
import { captureListeners, type Listeners, restoreListeners } from './process-listeners.js'

/** A property whose value is the one object or function every file must see. */
interface Slot {
  name: string
  owner: object
  key: string
  /** the owner's own descriptor, or none when the value was inherited (a spy then adds an own one) */
  descriptor: PropertyDescriptor | undefined
  value: unknown
}

export interface ProcessState {
  slots: Slot[]
  globals: Map<PropertyKey, PropertyDescriptor>
  env: Record<string, string | undefined>
  cwd: string
  listeners: Listeners
  exitCode: typeof process.exitCode
  umask: number
}

const timerGlobals = [
  'setTimeout',
  'clearTimeout',
  'setInterval',
  'clearInterval',
  'setImmediate',
  'clearImmediate',
  'queueMicrotask',
  'performance',
  'Date',
  'fetch',
] as const

/**
 * Globals libraries add as they load, which must stay (zod reads its own back): the first file of a worker
 * to load zod, to fetch (undici's dispatcher, which cannot be deleted) or to load playwright-core (graceful-fs,
 * signal-exit) did not leave them behind. Once there, a file that changes them is named as for any global.
 */
const libraryGlobals = new Set<PropertyKey>([
  '__zod_globalConfig',
  '__zod_globalRegistry',
  // Node 20 and 22's undici; Node 24's is version 2
  Symbol.for('undici.globalDispatcher.1'),
  Symbol.for('undici.globalDispatcher.2'),
  Symbol.for('graceful-fs.queue'),
  Symbol.for('signal-exit emitter'),
])

function slot(name: string, owner: object, key: string): Slot {
  return {
    name,
    owner,
    key,
    descriptor: Object.getOwnPropertyDescriptor(owner, key),
    value: (owner as Record<string, unknown>)[key],
  }
}

/** The slots as they are now: each owner is the original one (Date, performance), not what replaced it. */
export function captureSlots(): Slot[] {
  const slots = timerGlobals.map((name) => slot(name, globalThis, name))
  const value = (name: string) => slots.find((s) => s.name === name)?.value as object
  slots.push(
    slot('performance.now', value('performance'), 'now'),
    slot('Date.now', value('Date'), 'now'),
    slot('process.hrtime', process, 'hrtime'),
    slot('process.hrtime.bigint', process.hrtime, 'bigint'),
    slot('process.nextTick', process, 'nextTick'),
  )
  return slots
}

function ownDescriptors(target: object): Map<PropertyKey, PropertyDescriptor> {
  const descriptors = new Map<PropertyKey, PropertyDescriptor>()
  for (const key of Reflect.ownKeys(target)) {
    const descriptor = Object.getOwnPropertyDescriptor(target, key)
    if (descriptor) descriptors.set(key, descriptor)
  }
  return descriptors
}

/** `slots` are the worker's originals (captured once, before its first file); the rest is the file's start. */
export function captureState(slots: Slot[]): ProcessState {
  return {
    slots,
    globals: ownDescriptors(globalThis),
    env: { ...process.env },
    cwd: process.cwd(),
    listeners: captureListeners(),
    exitCode: process.exitCode,
    // read without a mask: Node sets it to 0 and back at once (a thread of this process could see the 0)
    umask: process.umask(),
  }
}

/**
 * Node defines many globals (AbortController, TextEncoder, …) as getters that, read once, put a plain value in
 * their place: that value is what the getter returns (again, without side effects).
 */
function unchanged(before: PropertyDescriptor, now: PropertyDescriptor): boolean {
  if (before.get && !now.get && !now.set && 'value' in now)
    return Object.is(now.value, Reflect.apply(before.get, globalThis, []))
  return Object.is(before.value, now.value) && before.get === now.get && before.set === now.set
}

/** Whether it could: a property defined not configurable cannot be deleted or redefined. */
function restoreProperty(
  owner: object,
  key: PropertyKey,
  descriptor: PropertyDescriptor | undefined,
): boolean {
  if (descriptor) return Reflect.defineProperty(owner, key, descriptor)
  return Reflect.deleteProperty(owner, key)
}

function keyName(key: PropertyKey): string {
  return typeof key === 'symbol' ? key.toString() : String(key)
}

/**
 * Puts back each slot, global, env variable, the cwd, listener, the exit code and the umask that differ from
 * `state`; returns what did.
 */
export function restoreState(state: ProcessState): string[] {
  const changed: string[] = []
  for (const s of state.slots) {
    if (Object.is((s.owner as Record<string, unknown>)[s.key], s.value)) continue
    const restored = restoreProperty(s.owner, s.key, s.descriptor)
    changed.push(`${s.name} is not the original${restored ? '' : ' (cannot be put back)'}`)
  }
  const globals = ownDescriptors(globalThis)
  for (const [key, descriptor] of globals) {
    const before = state.globals.get(key)
    if (before ? unchanged(before, descriptor) : libraryGlobals.has(key)) continue
    const restored = restoreProperty(globalThis, key, before)
    // a slot already named (and put back) above is not named twice
    if (!state.slots.some((s) => s.owner === globalThis && s.key === key))
      changed.push(
        `globalThis.${keyName(key)} ${before ? 'changed' : 'added'}${restored ? '' : ' (cannot be put back)'}`,
      )
  }
  for (const [key, descriptor] of state.globals) {
    if (globals.has(key)) continue
    const restored = restoreProperty(globalThis, key, descriptor)
    changed.push(`globalThis.${keyName(key)} removed${restored ? '' : ' (cannot be put back)'}`)
  }
  for (const name of Object.keys(process.env)) {
    if (process.env[name] === state.env[name]) continue
    changed.push(`env ${name} ${name in state.env ? 'changed' : 'added'}`)
    if (name in state.env) process.env[name] = state.env[name]
    else delete process.env[name]
  }
  for (const name of Object.keys(state.env)) {
    if (name in process.env) continue
    changed.push(`env ${name} removed`)
    process.env[name] = state.env[name]
  }
  if (process.cwd() !== state.cwd) {
    changed.push(`cwd changed to ${process.cwd()}`)
    process.chdir(state.cwd)
  }
  changed.push(...restoreListeners(state.listeners))
  if (process.exitCode !== state.exitCode) {
    // left set, it would be the worker's exit code, and fail the run after every test passed
    changed.push(`process.exitCode set to ${process.exitCode}`)
    process.exitCode = state.exitCode
  }
  const umask = process.umask()
  if (umask !== state.umask) {
    // a worker thread cannot set it (only read it): there it is only named
    changed.push(`umask changed to ${octal(umask)}${isMainThread ? '' : ' (cannot be put back)'}`)
    if (isMainThread) process.umask(state.umask)
  }
  return changed
}

const octal = (mask: number) => `0o${mask.toString(8).padStart(3, '0')}`
