import v8 from 'node:v8'
import vm from 'node:vm'

/** The garbage collector, for memory figures taken after a full collection, and how it was had. */
export function findGc(): { gc: (() => void) | null; how: string } {
  const exposed = (globalThis as { gc?: () => void }).gc
  if (typeof exposed === 'function') return { gc: exposed, how: 'node --expose-gc' }
  try {
    v8.setFlagsFromString('--expose-gc')
    const gc = vm.runInNewContext('gc') as unknown
    if (typeof gc === 'function') return { gc: gc as () => void, how: 'v8.setFlagsFromString("--expose-gc")' }
  } catch {
    // not available
  }
  return { gc: null, how: 'unavailable: numbers include garbage' }
}
