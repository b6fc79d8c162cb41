import { serializerCompiler as zodSerializerCompiler } from 'fastify-type-provider-zod'
import { $ZodType, safeParse } from 'zod/v4/core'
import { sameJsonCheck } from './same-json-check.js'

/**
 * Zod types whose encode (output -> JSON) gives what their parse gives: no codec, transform, pipe, default or
 * catch, which run differently (or throw) in that direction. For a schema made of these alone, a response is
 * checked with `safeParse`, which runs zod's compiled object code (a warm turn's body: 2 µs, against 7 µs for
 * `safeEncode`, which has no compiled path); the JSON is the same (test/unit/response-serializer.test.ts).
 */
const sameBothWays = new Set([
  'object',
  'string',
  'number',
  'boolean',
  'null',
  'literal',
  'enum',
  'array',
  'nullable',
  'optional',
  'union',
  'record',
  'unknown',
  'any',
  'never',
])

/** Whether the schema and every schema inside it encode as they parse (checked once per route). */
export function encodesAsItParses(schema: $ZodType, seen = new Set<$ZodType>()): boolean {
  if (seen.has(schema)) return true
  seen.add(schema)
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string }
  if (!sameBothWays.has(def.type)) return false
  const inner = [
    def.innerType,
    def.element,
    def.catchall,
    def.keyType,
    def.valueType,
    ...(Array.isArray(def.options) ? def.options : []),
    ...(def.type === 'object' ? Object.values(def.shape as Record<string, unknown>) : []),
  ]
  return inner.every((s) => s === undefined || (s instanceof $ZodType && encodesAsItParses(s, seen)))
}

type SerializerCompiler = typeof zodSerializerCompiler

/**
 * fastify-type-provider-zod's response serializer (`safeEncode`, then JSON.stringify), with `safeParse` for a
 * schema that encodes as it parses, and before it a check that the data already is what that parse gives
 * (sameJsonCheck: a turn the gateway built, in the schema's keys and order), which then goes to JSON as it is.
 * A response the schema refuses goes to zod's own serializer, which throws its error as before.
 */
export const serializerCompiler: SerializerCompiler = (route) => {
  const encode = zodSerializerCompiler(route)
  const schema = route.schema
  if (!(schema instanceof $ZodType) || !encodesAsItParses(schema)) return encode
  const alreadyParsed = sameJsonCheck(schema)
  return (data) => {
    if (alreadyParsed(data)) return JSON.stringify(data)
    const parsed = safeParse(schema, data)
    return parsed.success ? JSON.stringify(parsed.data) : encode(data)
  }
}
