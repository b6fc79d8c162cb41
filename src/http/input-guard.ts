import type { FastifyInstance } from 'fastify'
import { AppError } from '../protocol/errors.js'

/** A NUL, or a UTF-16 surrogate without its pair: JSON allows both, no process argument, env or pipe does. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding NUL is the point
const uncarriable = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** Nesting beyond this is refused rather than walked (bodies are bounded by BODY_LIMIT_BYTES anyway). */
const maxDepth = 64

interface Finding {
  path: string
  problem: string
}

/**
 * The first string (value or key) in `value` that an agent cannot be given: a NUL cannot be passed in argv,
 * env or a path, and a lone surrogate is not valid UTF-8, so the agent's JSON reader refuses it (codex's
 * app-server then never answers). Refusing them at the door is the only place that covers every route.
 */
export function findUncarriable(value: unknown, at: string, depth = 0): Finding | undefined {
  if (typeof value === 'string') return check(value, at)
  if (value === null || typeof value !== 'object') return undefined
  if (depth > maxDepth) return { path: at, problem: `is nested deeper than ${maxDepth} levels` }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUncarriable(value[i], `${at}[${i}]`, depth + 1)
      if (found) return found
    }
    return undefined
  }
  for (const [key, inner] of Object.entries(value)) {
    const keyProblem = check(key, `${at} key "${printable(key)}"`)
    if (keyProblem) return keyProblem
    const found = findUncarriable(inner, `${at}.${printable(key)}`, depth + 1)
    if (found) return found
  }
  return undefined
}

function check(text: string, at: string): Finding | undefined {
  const match = uncarriable.exec(text)
  if (!match) return undefined
  const problem =
    match[0] === '\u0000'
      ? 'contains a NUL character (\\u0000), which no agent process can receive'
      : `contains a lone UTF-16 surrogate (\\u${match[0].charCodeAt(0).toString(16)}), which is not valid UTF-8`
  return { path: at, problem }
}

function printable(key: string): string {
  return key.replace(uncarriable, '\ufffd')
}

/** Refuses, on every route and before validation, a request whose body, query or path holds such a string. */
export function registerInputGuard(app: FastifyInstance): void {
  // A callback hook: the walk is synchronous, so no promise per request.
  app.addHook('preValidation', (request, _reply, done) => {
    const found =
      findUncarriable(request.params, 'params') ??
      findUncarriable(request.query, 'query') ??
      findUncarriable(request.body, 'body')
    if (!found) return done()
    done(
      new AppError(
        'invalid_request',
        `${found.path} ${found.problem}; remove it or escape it in your own encoding`,
        {
          issues: [{ path: found.path, message: found.problem }],
        },
      ),
    )
  })
}
