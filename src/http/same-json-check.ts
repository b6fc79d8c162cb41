import type { $ZodType } from 'zod/v4/core'

/** Says, without allocating, that a value is already what the schema's parse would give. */
export type SameJsonCheck = (value: unknown) => boolean

const never: SameJsonCheck = () => false

interface Def {
  type: string
  checks?: { _zod: { def: Record<string, unknown> & { check: string } } }[]
  shape?: Record<string, $ZodType>
  catchall?: unknown
  element?: $ZodType
  innerType?: $ZodType
  entries?: Record<string, unknown>
  values?: unknown[]
}

const defOf = (schema: $ZodType) => schema._zod.def as unknown as Def

/**
 * A check, made once per schema, that answers true only when `safeParse(schema, value)` succeeds and
 * `JSON.stringify` of its data is `JSON.stringify(value)`: a response the gateway built in the schema's shape is
 * then sent without zod's parse, which allocates a result per field (a warm turn's body: ~45 µs cold in a turn,
 * docs/benchmarks.md "Issue 14, session 18"). It answers false for anything it does not know to be so (the
 * caller runs zod then): an object with a key the schema would drop, a missing key, keys in another order than
 * the schema's, an object that is not a plain one; a schema kind or a check it does not handle (a union but a
 * discriminated one of objects, a
 * record, a refinement, a string format). An optional key may be absent (a turn stored before it had one). test/unit/same-json-check.test.ts holds it to zod on many values.
 */
export function sameJsonCheck(schema: $ZodType): SameJsonCheck {
  const def = defOf(schema)
  const checks = def.checks ?? []
  // a check or format of the schema itself (z.int(), z.email()), or a coercion: not handled
  if ('check' in def || 'format' in def || 'coerce' in def) return never
  switch (def.type) {
    case 'string': {
      const minimums: number[] = []
      for (const c of checks) {
        if (c._zod.def.check !== 'min_length') return never
        // zod counts code points; a string of at least twice the floor in UTF-16 units has that many
        minimums.push(2 * (c._zod.def.minimum as number))
      }
      if (minimums.length === 0) return (v) => typeof v === 'string'
      const floor = Math.max(...minimums)
      return (v) => typeof v === 'string' && v.length >= floor
    }
    case 'number': {
      let integer = false
      let lowest = Number.NEGATIVE_INFINITY
      let lowestInclusive = true
      for (const c of checks) {
        const d = c._zod.def
        if (d.check === 'number_format' && d.format === 'safeint') integer = true
        else if (d.check === 'greater_than' && typeof d.value === 'number' && d.value >= lowest) {
          lowest = d.value
          lowestInclusive = d.inclusive === true
        } else return never
      }
      return (v) =>
        typeof v === 'number' &&
        (integer ? Number.isSafeInteger(v) : Number.isFinite(v)) &&
        (lowestInclusive ? v >= lowest : v > lowest)
    }
    case 'boolean':
      return checks.length === 0 ? (v) => typeof v === 'boolean' : never
    case 'null':
      return (v) => v === null
    case 'literal':
    case 'enum': {
      const values = def.type === 'literal' ? (def.values ?? []) : Object.values(def.entries ?? {})
      // strings only: JSON gives back what it was given
      if (checks.length > 0 || !values.every((v) => typeof v === 'string')) return never
      const allowed = new Set<unknown>(values)
      return (v) => allowed.has(v)
    }
    case 'nullable': {
      const inner = sameJsonCheck(def.innerType as $ZodType)
      return (v) => v === null || inner(v)
    }
    case 'array': {
      const element = sameJsonCheck(def.element as $ZodType)
      let least = 0
      for (const c of checks) {
        if (c._zod.def.check !== 'min_length') return never
        least = Math.max(least, c._zod.def.minimum as number)
      }
      return (v) => {
        // a subclass or an own toJSON would encode otherwise than the plain array zod makes
        if (!Array.isArray(v) || v.length < least || Object.getPrototypeOf(v) !== Array.prototype)
          return false
        if (Object.hasOwn(v, 'toJSON')) return false
        for (let i = 0; i < v.length; i++) if (!element(v[i])) return false
        return true
      }
    }
    case 'object': {
      if (checks.length > 0 || def.catchall !== undefined) return never
      const shape = def.shape as Record<string, $ZodType>
      const keys = Object.keys(shape)
      // an optional key (`.optional()`, nothing else around it) may be absent: zod's result lacks it then; when
      // present it is checked as its inner schema, or is undefined (which JSON drops as zod's result does)
      const optional = keys.map((k) => defOf(shape[k] as $ZodType).type === 'optional')
      const fields = keys.map((k, i) => {
        const field = shape[k] as $ZodType
        return sameJsonCheck(optional[i] ? (defOf(field).innerType as $ZodType) : field)
      })
      return (v) => {
        if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== Object.prototype) return false
        // the schema's keys, in its order (zod's result has that order), optional ones possibly absent
        let i = 0
        for (const k in v) {
          while (k !== keys[i] && optional[i]) i++
          if (k !== keys[i]) return false
          const value = (v as Record<string, unknown>)[k]
          if (!(optional[i] && value === undefined) && !(fields[i] as SameJsonCheck)(value)) return false
          i++
        }
        while (i < keys.length && optional[i]) i++
        return i === keys.length
      }
    }
    case 'union':
      return discriminatedCheck(def)
    default:
      return never
  }
}

/**
 * A discriminated union of objects (a turn's input items): each value has one option, the one its discriminator's
 * literal names (zod's parse tries that one alone), so its check is that option's. Any other union: never.
 */
function discriminatedCheck(def: Def): SameJsonCheck {
  const key = (def as { discriminator?: unknown }).discriminator
  const options = (def as { options?: $ZodType[] }).options ?? []
  if (typeof key !== 'string' || (def.checks ?? []).length > 0) return never
  const byTag = new Map<unknown, SameJsonCheck>()
  for (const option of options) {
    const o = defOf(option)
    const tag = o.type === 'object' ? defOf(o.shape?.[key] as $ZodType) : undefined
    if (tag?.type !== 'literal' || tag.values?.length !== 1 || typeof tag.values[0] !== 'string') return never
    if (byTag.has(tag.values[0])) return never
    byTag.set(tag.values[0], sameJsonCheck(option))
  }
  return (v) => {
    if (typeof v !== 'object' || v === null) return false
    const check = byTag.get((v as Record<string, unknown>)[key])
    return check?.(v) === true
  }
}
