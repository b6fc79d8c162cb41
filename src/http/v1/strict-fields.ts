import { z } from 'zod'
import { nearestWord } from '../../util/nearest-word.js'

/**
 * A request body's object that refuses a field it does not know (zod's strictObject; additionalProperties:
 * false in the OpenAPI document) and says which known field a typo probably meant:
 * `unknown field 'sandbx' (did you mean 'sandbox'?)`. Only for the gateway's own /v1 bodies: the seed routes
 * accept what their originals accepted, extra fields included.
 */
export function strictBody<Shape extends z.ZodRawShape>(
  shape: Shape,
  /** A field another body of the API has, named here by this body's field for it (a turn's `prompt` is `input`). */
  meantBy: Record<string, keyof Shape & string> = {},
) {
  return strictObjectOf(shape, 'field', meantBy)
}

/**
 * A /v1 query string that refuses a parameter it does not know, like strictBody: a misspelt filter
 * (`?status=pending` where the parameter is `state`) is a 400 naming it, not a page of everything.
 */
export function strictQuery<Shape extends z.ZodRawShape>(shape: Shape) {
  return strictObjectOf(shape, 'query parameter', {})
}

function strictObjectOf<Shape extends z.ZodRawShape>(
  shape: Shape,
  noun: string,
  meantBy: Record<string, string>,
) {
  const known = Object.keys(shape)
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? unknownKeys(issue.keys, known, meantBy, noun) : undefined,
  })
}

function unknownKeys(
  keys: readonly string[],
  known: readonly string[],
  meantBy: Record<string, string>,
  noun: string,
): string {
  const named = keys.map((key) => {
    const meant = Object.hasOwn(meantBy, key) ? meantBy[key] : nearestWord(key, known)
    return meant ? `'${key}' (did you mean '${meant}'?)` : `'${key}'`
  })
  return `unknown ${noun}${keys.length > 1 ? 's' : ''} ${named.join(', ')}; the ${noun}s are: ${known.join(', ')}`
}
