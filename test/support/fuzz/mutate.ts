import type { Random } from './random.js'

/** Strings that have broken servers: control characters, lone surrogates, paths, encodings, huge ones. */
export const nastyStrings = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udc00y',
  '\ud83d\ude00',
  '../../../../etc/passwd',
  '/etc',
  '/',
  '~',
  '%00',
  '%2e%2e%2f',
  '\\\\server\\share',
  '$(id)',
  '`id`',
  '-c',
  '--help',
  'null',
  '__proto__',
  'constructor',
  '\r\nX-Injected: 1',
  '\u202e',
  'x'.repeat(70_000),
]

/** Numbers a runtime may not hold: beyond timers (2^31-1), beyond safe integers, negative, fractions. */
export const nastyNumbers = [
  -1,
  0,
  0.5,
  1,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
  2 ** 63,
  1e308,
  -1e308,
  1e-308,
  -0,
]

/** A value of some JSON type, often a wrong one for where it lands. */
export function anyValue(rnd: Random, depth = 0): unknown {
  switch (rnd.int(depth > 2 ? 5 : 8)) {
    case 0:
      return rnd.pick(nastyStrings)
    case 1:
      return rnd.pick(nastyNumbers)
    case 2:
      return rnd.chance(0.5)
    case 3:
      return null
    case 4:
      return rnd.pick(['x', 'codex', 'hello', 'read-only', 'text'])
    case 5:
      return [anyValue(rnd, depth + 1)]
    case 6:
      return { [rnd.pick(['x', 'type', 'text', '__proto__'])]: anyValue(rnd, depth + 1) }
    default:
      return deeplyNested(rnd.pick([10, 100, 1000]))
  }
}

function deeplyNested(depth: number): unknown {
  let v: unknown = 'deep'
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v }
  return v
}

/** Every path to a value inside `value` (objects and arrays), the root included as []. */
function paths(value: unknown, at: (string | number)[] = [], out: (string | number)[][] = []) {
  out.push(at)
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) paths(value[i], [...at, i], out)
  } else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) paths(v, [...at, k], out)
  return out
}

function setAt(root: unknown, at: (string | number)[], value: unknown): unknown {
  if (at.length === 0) return value
  const copy = structuredClone(root) as Record<string | number, unknown>
  let node = copy
  for (const key of at.slice(0, -1)) node = node[key] as Record<string | number, unknown>
  node[at.at(-1)!] = value
  return copy
}

function deleteAt(root: unknown, at: (string | number)[]): unknown {
  if (at.length === 0) return undefined
  const copy = structuredClone(root) as Record<string | number, unknown>
  let node = copy
  for (const key of at.slice(0, -1)) node = node[key] as Record<string | number, unknown>
  const last = at.at(-1)!
  if (Array.isArray(node)) node.splice(last as number, 1)
  else delete node[last]
  return copy
}

/** One mutation of a JSON value: a changed, removed or added part, or the whole replaced. */
export function mutateValue(value: unknown, rnd: Random): unknown {
  const where = rnd.pick(paths(value))
  switch (rnd.int(5)) {
    case 0:
      return deleteAt(value, where)
    case 1: {
      // add an unknown property next to known ones
      const extra = rnd.pick(['zzz', 'prompt', 'cwd', 'env', 'args', 'agent', 'timeoutMs', '__proto__'])
      if (!value || typeof value !== 'object' || Array.isArray(value))
        return setAt(value, where, anyValue(rnd))
      return setAt(value, [extra], anyValue(rnd))
    }
    case 2:
      return setAt(value, where, rnd.pick(nastyNumbers))
    case 3:
      return setAt(value, where, rnd.pick(nastyStrings))
    default:
      return setAt(value, where, anyValue(rnd))
  }
}

/** Bodies that are not the JSON the route expects at all. */
export const brokenBodies = [
  '',
  '{',
  'null',
  '[]',
  '"x"',
  '1e999',
  '{"a":1,"a":2}',
  'not json',
  '\u0000',
  '{}',
]
