import type { z } from 'zod'
import type { $ZodType } from 'zod/v4/core'

/** Says, without allocating, that a value passes the schema and reads the same as zod's result would. */
type Reader = (value: unknown) => boolean

const never: Reader = () => false
const anything: Reader = () => true

interface Def {
  type: string
  checks?: unknown[]
  shape?: Record<string, $ZodType>
  catchall?: $ZodType
  element?: $ZodType
  innerType?: $ZodType
  entries?: Record<string, unknown>
  values?: unknown[]
  options?: $ZodType[]
  discriminator?: string
}

const defOf = (schema: $ZodType) => schema._zod.def as unknown as Def

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * The reader of a schema made of the kinds codex's wire schemas use (wire-schemas.ts, item-mapping.ts): loose
 * objects, strings, finite numbers, booleans, string literals and enums, arrays, optional, nullable, unknown, and
 * discriminated unions of loose objects. A loose object's result holds every key of its input with the same
 * values (zod copies them), so a value it accepts can be read as it is. Anything else (a check, a default, a
 * transform, a strict or stripping object) reads as `never`: the caller parses with zod then.
 */
function readerOf(schema: $ZodType): Reader {
  const def = defOf(schema)
  if ((def.checks?.length ?? 0) > 0 || 'check' in def || 'format' in def || 'coerce' in def) return never
  switch (def.type) {
    case 'string':
      return (v) => typeof v === 'string'
    case 'number':
      return (v) => typeof v === 'number' && Number.isFinite(v)
    case 'boolean':
      return (v) => typeof v === 'boolean'
    case 'unknown':
    case 'any':
      return anything
    case 'literal':
    case 'enum': {
      const values = def.type === 'literal' ? (def.values ?? []) : Object.values(def.entries ?? {})
      if (!values.every((v) => typeof v === 'string')) return never
      const allowed = new Set<unknown>(values)
      return (v) => allowed.has(v)
    }
    case 'optional': {
      const inner = readerOf(def.innerType as $ZodType)
      return (v) => v === undefined || inner(v)
    }
    case 'nullable': {
      const inner = readerOf(def.innerType as $ZodType)
      return (v) => v === null || inner(v)
    }
    case 'array': {
      const element = readerOf(def.element as $ZodType)
      return (v) => {
        if (!Array.isArray(v)) return false
        for (let i = 0; i < v.length; i++) if (!element(v[i])) return false
        return true
      }
    }
    case 'object': {
      // loose only: z.object drops the keys it does not know, z.strictObject refuses them
      if (def.catchall === undefined || defOf(def.catchall).type !== 'unknown') return never
      const shape = def.shape as Record<string, $ZodType>
      const keys = Object.keys(shape)
      const fields = keys.map((k) => readerOf(shape[k] as $ZodType))
      // zod wants a key present unless its schema is optional (z.unknown() too, though it takes undefined)
      const required = keys.map((k) => (shape[k] as $ZodType)._zod.optin !== 'optional')
      return (v) => {
        if (!isObject(v)) return false
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i] as string
          if (required[i] && !(key in v)) return false
          if (!(fields[i] as Reader)(v[key])) return false
        }
        return true
      }
    }
    case 'union': {
      // a discriminated union runs the one option its discriminator names
      const key = def.discriminator
      if (key === undefined) return never
      const byValue = new Map<unknown, Reader>()
      for (const option of def.options ?? []) {
        const discriminator = defOf(option).shape?.[key]
        if (!discriminator || defOf(discriminator).type !== 'literal') return never
        const read = readerOf(option)
        for (const value of defOf(discriminator).values ?? []) {
          if (byValue.has(value)) return never
          byValue.set(value, read)
        }
      }
      return (v) => isObject(v) && (byValue.get(v[key]) ?? never)(v)
    }
    default:
      return never
  }
}

const readers = new WeakMap<$ZodType, Reader>()

/**
 * `schema.safeParse(value)` for what codex sends, without zod's copy of it when it already reads as the result
 * would: each notification's parse allocated a result per field and a copy of every loose object (~20-40 µs
 * each, cold, in a warm turn). The value itself is the data then (read, never changed, by its callers). Anything
 * the reader does not take goes to zod, so acceptance and errors are zod's (test/unit/wire-read.test.ts).
 */
export function safeRead<S extends z.ZodType>(schema: S, value: unknown): z.ZodSafeParseResult<z.output<S>> {
  let read = readers.get(schema)
  if (!read) {
    read = readerOf(schema)
    readers.set(schema, read)
  }
  return read(value) ? { success: true, data: value as z.output<S> } : schema.safeParse(value)
}

/**
 * `threadRef.safeParse(params).data?.threadId` without zod's failure for what names no thread: a notification
 * about the account (`account/rateLimits/updated`, once a turn) built zod's error each time.
 */
export function threadIdOf(params: unknown): string | undefined {
  return isObject(params) && typeof params.threadId === 'string' ? params.threadId : undefined
}
