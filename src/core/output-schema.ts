import { createRequire } from 'node:module'
import v8 from 'node:v8'
import type { Ajv, ErrorObject } from 'ajv'
import { AppError } from '../protocol/errors.js'
import type { RunCompletedEvent } from '../protocol/events.js'
import { externalRef } from './schema-refs.js'

export type OutputValidator = (completed: RunCompletedEvent) => RunCompletedEvent

let shared: Ajv | undefined
/** ajv (about 60 CommonJS files) is required on the first outputSchema, not at the start. */
const ajv = (): Ajv => {
  if (!shared) {
    const { Ajv } = createRequire(import.meta.url)('ajv') as typeof import('ajv')
    shared = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false, code: { regExp: linearEngine } })
  }
  return shared
}

/** Whether V8's linear-time regular expression engine (the `l` flag) is there; switched on at first use. */
let linear: boolean | undefined
function hasLinearEngine(): boolean {
  if (linear === undefined) {
    v8.setFlagsFromString('--enable-experimental-regexp-engine')
    try {
      // biome-ignore lint/complexity/useRegexLiterals: a literal with the flag would not parse without the engine
      linear = new RegExp('a', 'l').test('a')
    } catch {
      linear = false
    }
  }
  return linear
}

/**
 * The client's `pattern` and `patternProperties` run on V8's linear-time engine: checked on the gateway's event
 * loop against an answer the client's prompt shapes, a backtracking pattern such as `^(a+)+$` stalled every
 * request of every tenant. What that engine cannot run (backreferences, lookahead; lookbehind before Node 24) is
 * refused, and so is what only unicode mode reads (`\p{...}`, `\u{...}`), which it does not offer.
 */
function linearRegExp(pattern: string): RegExp {
  if (!hasLinearEngine()) throw new Error(`pattern "${pattern}": patterns are not supported by this Node.js`)
  if (/\\[pP]|\\u\{/.test(pattern))
    throw new Error(`pattern "${pattern}": \\p{...}, \\P{...} and \\u{...} are not supported`)
  try {
    return new RegExp(pattern, 'l')
  } catch (err) {
    // V8 says "Cannot be executed in linear time" for what needs backtracking
    throw new Error(
      `${(err as Error).message} (patterns run in linear time: no backreferences or lookaround)`,
    )
  }
}

/** ajv's engine interface: `code` names it in generated standalone code, which the gateway never emits. */
const linearEngine = Object.assign(linearRegExp, { code: 'linearRegExp' })

/**
 * The longest outputSchema accepted, as JSON text (UTF-16 units): codex sends the schema with every model request
 * of the turn and the gateway writes it to a file per run, so it is bounded on its own, not only by
 * BODY_LIMIT_BYTES. The model APIs' own limits on a structured-output schema (property and enum counts, nesting)
 * are well inside it.
 */
export const maxOutputSchemaChars = 128 * 1024

/**
 * Refuses (400) an outputSchema longer than maxOutputSchemaChars as JSON, or with a `$ref` outside itself (a file,
 * a URL: schema-refs.ts); `field` names it as the route does. Its nesting is bounded with the body's (64 levels).
 * The gateway's own check (compileOutputSchema) resolves no such reference, and codex (seed 002's
 * `--output-schema`) sends the schema as it is to the model provider, which then would be the one to resolve it:
 * the OpenAI API refuses it (its structured outputs take references within the schema only), another provider
 * (CODEX_API_BASE_URL) might fetch it. Before, seed 002's routes ran codex with it.
 */
export function checkOutputSchema(schema: Record<string, unknown>, field = 'outputSchema'): void {
  const chars = JSON.stringify(schema).length
  if (chars > maxOutputSchemaChars)
    throw new AppError(
      'invalid_request',
      `${field} is ${chars} characters as JSON; at most ${maxOutputSchemaChars} are accepted`,
    )
  const external = externalRef(schema)
  if (external)
    throw new AppError(
      'invalid_request',
      `${field}${external.path} "${external.ref.slice(0, 200)}" points outside the schema: only references within it (starting with #, such as #/$defs/name) are accepted`,
    )
}

/**
 * Refuses (400) a schema the JSON Schema meta-schema refuses (`{"type": "nonsense"}`, `properties` not an object),
 * for a run's, a session turn's and seed 002's alike, in the same words (notJsonSchema). A schema the gateway hands
 * to an agent without compiling it itself (seed 002's `codex exec --output-schema`, a session turn's) is checked by
 * this alone: before, codex ran with it and the model provider refused it mid-run. Nothing is compiled, so what the
 * gateway's own check would refuse of a valid schema (a pattern that is not linear-time) passes, as the agent takes
 * it; so does a schema whose `$schema` names a dialect this check does not know (the agent judges it).
 */
export function checkJsonSchema(schema: Record<string, unknown>, field = 'outputSchema'): void {
  const shared = ajv()
  let valid: boolean
  try {
    valid = shared.validateSchema(schema) as boolean
  } catch {
    return
  }
  if (!valid) throw notJsonSchema(field, shared.errorsText(shared.errors, { dataVar: field }))
}

/** The one refusal of a schema that is not a valid JSON Schema, whichever route it came by and whatever found it. */
export const notJsonSchema = (field: string, reason: string): AppError =>
  new AppError('invalid_request', `${field} is not a valid JSON Schema: ${reason}`)

/**
 * Compiles a run's outputSchema (400 when it is not a valid JSON Schema) into a check of the final response:
 * valid JSON that matches becomes `result`; anything else fails the run with the reason. What the meta-schema
 * refuses is refused first by checkJsonSchema, in a session turn's words; what only the compilation finds (a
 * pattern that is not linear-time, a `$ref` to nothing) in the same form.
 */
export function compileOutputSchema(schema: Record<string, unknown>): OutputValidator {
  checkJsonSchema(schema)
  // Each run's schema is its own: a root `$id` would be registered in the shared instance, refusing every later
  // schema with that `$id` (of any tenant) and letting later schemas `$ref` it; and every compiled schema stayed
  // cached for the server's life. The check ignores a root `$id` and nothing is kept after the compilation.
  // A nested `$id` (in `properties`, `$defs`, ...) is registered too, under its own key: it serves `$ref`s within
  // this schema while it compiles, and whatever the compilation added is removed after it (a later schema, of any
  // tenant, neither clashes with it nor reaches it).
  const { $id: _ignored, ...own } = schema
  const shared = ajv()
  const before = registeredKeys(shared)
  let validate: ReturnType<Ajv['compile']>
  try {
    validate = shared.compile(own)
  } catch (err) {
    throw notJsonSchema('outputSchema', (err as Error).message)
  } finally {
    shared.removeSchema(own)
    for (const key of registeredKeys(shared)) if (!before.has(key)) shared.removeSchema(key)
  }
  return (completed) => {
    let parsed: unknown
    try {
      parsed = JSON.parse(completed.finalResponse ?? '')
    } catch {
      return {
        ...completed,
        status: 'failed',
        error: 'the final response is not JSON, but an outputSchema was given',
      }
    }
    if (!validate(parsed))
      return {
        ...completed,
        status: 'failed',
        error: `the final response does not match outputSchema: ${describe(validate.errors ?? [])}`,
      }
    return { ...completed, result: parsed }
  }
}

/** The keys ajv resolves `$ref`s against: added schemas and the `$id`s found in them. */
const registeredKeys = (a: Ajv): Set<string> => new Set([...Object.keys(a.schemas), ...Object.keys(a.refs)])

const describe = (errors: ErrorObject[]) =>
  errors.map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ')
