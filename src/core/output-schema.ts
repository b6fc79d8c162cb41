import { createRequire } from 'node:module'
import type { Ajv, ErrorObject } from 'ajv'
import { AppError } from '../protocol/errors.js'
import type { RunCompletedEvent } from '../protocol/events.js'

export type OutputValidator = (completed: RunCompletedEvent) => RunCompletedEvent

let shared: Ajv | undefined
/** ajv (about 60 CommonJS files) is required on the first outputSchema, not at the start. */
const ajv = (): Ajv => {
  if (!shared) {
    const { Ajv } = createRequire(import.meta.url)('ajv') as typeof import('ajv')
    shared = new Ajv({ allErrors: true, strict: false })
  }
  return shared
}

/**
 * Compiles a run's outputSchema (400 when it is not a valid JSON Schema) into a check of the final response:
 * valid JSON that matches becomes `result`; anything else fails the run with the reason.
 */
export function compileOutputSchema(schema: Record<string, unknown>): OutputValidator {
  let validate: ReturnType<Ajv['compile']>
  try {
    validate = ajv().compile(schema)
  } catch (err) {
    throw new AppError(
      'invalid_request',
      `outputSchema is not a valid JSON Schema: ${(err as Error).message}`,
    )
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

const describe = (errors: ErrorObject[]) =>
  errors.map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ')
