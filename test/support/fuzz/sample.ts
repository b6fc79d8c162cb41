import type { Random } from './random.js'

/** The subset of JSON Schema (as @fastify/swagger emits it from zod) the sampler understands. */
export interface JsonSchema {
  type?: string | string[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  additionalProperties?: JsonSchema | boolean
  items?: JsonSchema
  enum?: unknown[]
  const?: unknown
  anyOf?: JsonSchema[]
  oneOf?: JsonSchema[]
  allOf?: JsonSchema[]
  default?: unknown
  minLength?: number
  maxLength?: number
  minItems?: number
  maxItems?: number
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number
}

/** Short strings a route may accept (they name nothing that exists, so they rarely start real work). */
const words = ['x', 'hello', 'codex', 'main', 'sub', 'auto', 'gpt-5.5', 'true']

/**
 * A value that follows `schema`: required properties always, optional ones half the time, defaults when
 * given. Meant as the starting point of mutations, not as an exhaustive generator.
 */
export function sample(schema: JsonSchema | undefined, rnd: Random, depth = 0): unknown {
  if (!schema || depth > 8) return null
  if (schema.const !== undefined) return schema.const
  if (schema.enum?.length) return rnd.pick(schema.enum)
  const alternatives = schema.anyOf ?? schema.oneOf
  if (alternatives?.length) return sample(rnd.pick(alternatives), rnd, depth + 1)
  if (schema.allOf?.length) return sample(schema.allOf[0], rnd, depth + 1)
  if (schema.default !== undefined && rnd.chance(0.3)) return schema.default
  const type = Array.isArray(schema.type) ? rnd.pick(schema.type) : schema.type
  switch (type) {
    case 'string': {
      let s = rnd.pick(words)
      while (s.length < (schema.minLength ?? 0)) s += 'x'
      return schema.maxLength !== undefined ? s.slice(0, schema.maxLength) : s
    }
    case 'integer':
    case 'number': {
      const low = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 0)
      const high = Math.min(schema.maximum ?? low + 100, low + 100)
      return low + rnd.int(Math.max(1, high - low + 1))
    }
    case 'boolean':
      return rnd.chance(0.5)
    case 'null':
      return null
    case 'array': {
      const n = Math.max(schema.minItems ?? 0, rnd.int(3))
      return Array.from({ length: Math.min(n, schema.maxItems ?? n) }, () =>
        sample(schema.items, rnd, depth + 1),
      )
    }
    case 'object':
    case undefined: {
      const out: Record<string, unknown> = {}
      const required = new Set(schema.required ?? [])
      for (const [key, inner] of Object.entries(schema.properties ?? {}))
        if (required.has(key) || rnd.chance(0.5)) out[key] = sample(inner, rnd, depth + 1)
      if (typeof schema.additionalProperties === 'object' && rnd.chance(0.5))
        out[rnd.pick(words)] = sample(schema.additionalProperties, rnd, depth + 1)
      return out
    }
    default:
      return null
  }
}
