/** A gateway's Store calls, counted by a bench (bench/turn-cpu.ts, bench/pg-session-turns.ts). */

/**
 * Counts the store's outermost calls (a call inside another, such as appendEvents inside a transaction, is not
 * counted again) while `counting` is on: the store's own methods are wrapped on the instance.
 */
export function countStoreCalls(store: Record<string, unknown>): {
  counting: boolean
  calls: Map<string, number>
  /** Wall ms spent in the counted calls (SQLite works synchronously inside them: about their CPU). */
  ms: number
} {
  const counter = { counting: false, calls: new Map<string, number>(), ms: 0 }
  let depth = 0
  let proto = Object.getPrototypeOf(store) as object | null
  const names = new Set<string>()
  while (proto && proto !== Object.prototype) {
    for (const name of Object.getOwnPropertyNames(proto)) if (name !== 'constructor') names.add(name)
    proto = Object.getPrototypeOf(proto) as object | null
  }
  for (const name of names) {
    const original = store[name]
    if (typeof original !== 'function') continue
    store[name] = function (this: unknown, ...args: unknown[]) {
      const outermost = counter.counting && depth === 0
      if (outermost) counter.calls.set(name, (counter.calls.get(name) ?? 0) + 1)
      const t0 = outermost ? performance.now() : 0
      depth++
      try {
        return original.apply(this, args)
      } finally {
        depth--
        if (outermost) counter.ms += performance.now() - t0
      }
    }
  }
  return counter
}
