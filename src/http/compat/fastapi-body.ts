import type { FastifyInstance, FastifyRequest } from 'fastify'
import { sendFastapiJson } from './fastapi-content-type.js'
import { pythonJsonError } from './python-json.js'

/**
 * A FastAPI route's body as FastAPI read and validated it, for a seed whose original took one pydantic model per
 * route (seed 001's RunRequest, seed 002's CodexRequest, seed 003's request models): what it refused is its 422 `{"detail": [...]}`,
 * error for error as pydantic v2 wrote them (`type`, `loc`, `msg`, `input`, `ctx`; FastAPI leaves out `url`).
 * What it accepted goes on to the route's own schema, which may still refuse by the gateway's rules (a 400 in
 * the route's shape).
 *
 * FastAPI parsed a body as JSON when it came without a content-type or as `application/json` or `+json`; any
 * other body was bytes, which the model refuses. An empty body, or JSON `null`, is the body missing.
 */
export type PydanticField = {
  /** No default: a body without it is refused (`Field required`). */
  required?: true
  /** `Optional[...]`: null is accepted (as absent). */
  nullable?: true
} & (
  | {
      /** `str`, `bool`, `List[str]`, `List[Dict[str, Any]]`, `Dict[str, Any]`, `Dict[str, str]` */
      kind: 'str' | 'bool' | 'list_of_str' | 'list_of_dict' | 'dict' | 'dict_of_str'
    }
  | {
      /** `Literal["a", "b"]`: one of `values` (strings) */
      kind: 'literal'
      values: readonly string[]
    }
  | {
      /** Another pydantic model (`model`), or a list of them (`List[Model]`), named `className` as in its errors. */
      kind: 'model' | 'list_of_model'
      className: string
      model: PydanticModel
    }
)

/** A pydantic model's fields, in its declaration order (the order of its errors). */
export type PydanticModel = Record<string, PydanticField>

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The pydantic model the seed's original read this route's body with (fastapiBody). */
    pydantic?: PydanticModel
  }
}

export interface PydanticError {
  type: string
  loc: (string | number)[]
  msg: string
  input: unknown
  ctx?: Record<string, unknown>
}

/** Bodies Python could not decode, by request: the parser cannot answer, so the preValidation hook does. */
const undecodable = new WeakMap<FastifyRequest, PydanticError>()

/**
 * Reads bodies as FastAPI did in this plugin's scope, and answers 422 for a body its route's model (its
 * `config.pydantic`) refuses. A body it accepts is passed on with pydantic's lax coercions applied (a boolean sent
 * as "true" or 1 is a boolean).
 */
export function fastapiBody(app: FastifyInstance): void {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, text, done) => {
    const body = text as string
    if (body === '') return done(null, undefined)
    if (!isJsonType(request.headers['content-type'])) return done(null, body)
    try {
      done(null, JSON.parse(body))
    } catch {
      const { msg, pos } = pythonJsonError(body)
      undecodable.set(request, {
        type: 'json_invalid',
        loc: ['body', pos],
        msg: 'JSON decode error',
        input: {},
        ctx: { error: msg },
      })
      done(null, undefined)
    }
  })
  app.addHook('preValidation', async (request, reply) => {
    const model = request.routeOptions.config.pydantic
    const undecoded = undecodable.get(request)
    const errors = undecoded ? [undecoded] : model ? validate(model, request.body) : []
    if (errors.length === 0) return
    await sendFastapiJson(reply.status(422), { detail: errors })
    return reply
  })
}

/** FastAPI's test: no content-type, or `application/json`, or `application/<anything>+json`. */
function isJsonType(header: string | undefined): boolean {
  if (header === undefined || header === '') return true
  const [main, sub = ''] = (header.split(';', 1)[0] ?? '').trim().toLowerCase().split('/', 2)
  return main === 'application' && (sub === 'json' || sub.endsWith('+json'))
}

/** pydantic's errors for `body` against `model`, in field order; coerces accepted values in place. */
function validate(model: PydanticModel, body: unknown): PydanticError[] {
  if (body === undefined || body === null)
    return [{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }]
  if (!isDict(body))
    return [
      {
        type: 'model_attributes_type',
        loc: ['body'],
        msg: 'Input should be a valid dictionary or object to extract fields from',
        input: body,
      },
    ]
  const errors = validateFields(model, body as Record<string, unknown>, ['body'])
  if (errors.length === 0) coerce(model, body as Record<string, unknown>)
  return errors
}

/** The errors of the fields of `model` in `fields` (an object) at `at`, nested models' too, in field order. */
function validateFields(
  model: PydanticModel,
  fields: Record<string, unknown>,
  at: (string | number)[],
): PydanticError[] {
  const errors: PydanticError[] = []
  for (const [name, field] of Object.entries(model)) {
    const loc = [...at, name]
    if (!Object.hasOwn(fields, name)) {
      if (field.required) errors.push({ type: 'missing', loc, msg: 'Field required', input: fields })
      continue
    }
    const v = fields[name]
    if (v === null && field.nullable) continue
    errors.push(...validateValue(field, v, loc))
  }
  return errors
}

function validateValue(field: PydanticField, v: unknown, loc: (string | number)[]): PydanticError[] {
  switch (field.kind) {
    case 'str':
      return typeof v === 'string' ? [] : [stringType(loc, v)]
    case 'bool': {
      const b = lenientBool(v)
      return typeof b === 'boolean' ? [] : [{ type: b, loc, msg: boolMessages[b], input: v }]
    }
    case 'literal':
      return typeof v === 'string' && field.values.includes(v) ? [] : [literalError(field.values, loc, v)]
    case 'dict':
      return isDict(v) ? [] : [dictType(loc, v)]
    case 'dict_of_str':
      if (!isDict(v)) return [dictType(loc, v)]
      return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) =>
        typeof x === 'string' ? [] : [stringType([...loc, k], x)],
      )
    case 'model':
      return isDict(v)
        ? validateFields(field.model, v as Record<string, unknown>, loc)
        : [modelType(field.className, loc, v)]
    case 'list_of_str':
      return listOf({ kind: 'str' }, v, loc)
    case 'list_of_dict':
      return listOf({ kind: 'dict' }, v, loc)
    case 'list_of_model':
      return listOf({ kind: 'model', className: field.className, model: field.model }, v, loc)
  }
}

/** `List[item]`: each element's errors, at its index. */
function listOf(item: PydanticField, v: unknown, loc: (string | number)[]): PydanticError[] {
  if (!Array.isArray(v)) return [{ type: 'list_type', loc, msg: 'Input should be a valid list', input: v }]
  return v.flatMap((x, i) => validateValue(item, x, [...loc, i]))
}

/** pydantic's lax coercions of a body it accepted, in place: a boolean sent as "true" or 1 is a boolean. */
function coerce(model: PydanticModel, fields: Record<string, unknown>): void {
  for (const [name, field] of Object.entries(model)) {
    const v = fields[name]
    if (v === undefined || v === null) continue
    if (field.kind === 'bool') fields[name] = lenientBool(v)
    else if (field.kind === 'model') coerce(field.model, v as Record<string, unknown>)
    else if (field.kind === 'list_of_model')
      for (const x of v as Record<string, unknown>[]) coerce(field.model, x)
  }
}

const stringType = (loc: (string | number)[], input: unknown): PydanticError => ({
  type: 'string_type',
  loc,
  msg: 'Input should be a valid string',
  input,
})

const dictType = (loc: (string | number)[], input: unknown): PydanticError => ({
  type: 'dict_type',
  loc,
  msg: 'Input should be a valid dictionary',
  input,
})

/** A value outside a `Literal`: pydantic names the values as Python wrote them ('a', 'b' or 'c'). */
const literalError = (values: readonly string[], loc: (string | number)[], input: unknown): PydanticError => {
  const quoted = values.map((x) => `'${x}'`)
  const expected =
    quoted.length > 1
      ? `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`
      : (quoted[0] ?? '')
  return { type: 'literal_error', loc, msg: `Input should be ${expected}`, input, ctx: { expected } }
}

/** A nested model given something other than an object. */
const modelType = (className: string, loc: (string | number)[], input: unknown): PydanticError => ({
  type: 'model_type',
  loc,
  msg: `Input should be a valid dictionary or instance of ${className}`,
  input,
  ctx: { class_name: className },
})

const isDict = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v)

const boolMessages = {
  bool_parsing: 'Input should be a valid boolean, unable to interpret input',
  bool_type: 'Input should be a valid boolean',
}

/** pydantic v2's lax bool: the words it knows (any ASCII case), 0 and 1 (1.0 too); else which error. */
function lenientBool(v: unknown): boolean | keyof typeof boolMessages {
  if (typeof v === 'boolean') return v
  if (typeof v === 'string') {
    const word = v.replace(/[A-Z]/g, (c) => c.toLowerCase())
    if (['0', 'off', 'f', 'false', 'n', 'no'].includes(word)) return false
    if (['1', 'on', 't', 'true', 'y', 'yes'].includes(word)) return true
    return 'bool_parsing'
  }
  if (typeof v === 'number') {
    if (v === 0 || v === 1) return v === 1
    return Number.isInteger(v) ? 'bool_parsing' : 'bool_type'
  }
  return 'bool_type'
}
