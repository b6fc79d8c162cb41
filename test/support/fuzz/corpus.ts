import { anyValue, brokenBodies, mutateValue, nastyNumbers, nastyStrings } from './mutate.js'
import type { Random } from './random.js'
import { type JsonSchema, sample } from './sample.js'

/** One operation of the OpenAPI document, as the corpus needs it. */
export interface Operation {
  method: string
  path: string
  body?: JsonSchema
  parameters: { name: string; in: 'query' | 'path' | 'header'; required: boolean; schema: JsonSchema }[]
}

export interface FuzzRequest {
  method: string
  /** Path with its query string. */
  url: string
  headers: Record<string, string>
  body?: string
  /** Which mutation produced it (to explain a failure). */
  kind: string
}

interface OpenApiDocument {
  paths: Record<string, Record<string, { requestBody?: unknown; parameters?: Operation['parameters'] }>>
}

/** Every operation of the document (the `/docs` UI's own routes are not in it). */
export function operationsOf(doc: OpenApiDocument): Operation[] {
  const ops: Operation[] = []
  for (const [path, methods] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(methods)) {
      const body = (op.requestBody as { content?: Record<string, { schema?: JsonSchema }> } | undefined)
        ?.content?.['application/json']?.schema
      ops.push({
        method: method.toUpperCase(),
        path,
        ...(body ? { body } : {}),
        parameters: op.parameters ?? [],
      })
    }
  return ops
}

/** Ids the corpus puts in `{id}`: real ones it learned (`known`) and ones that name nothing. */
const strangeIds = [
  'x',
  'run_0',
  'ses_0',
  'apr_0',
  '%00',
  '%ED%A0%80',
  '..',
  '%2F',
  'a'.repeat(5000),
  '%F0%9F%98%80',
]

/** Builds one request for `op`: a valid sample, then (usually) one mutation of body, query, path or headers. */
export function buildRequest(op: Operation, rnd: Random, known: Map<string, string[]>): FuzzRequest {
  let kind = 'valid'
  const query = new URLSearchParams()
  const headers: Record<string, string> = {}
  let path = op.path
  for (const p of op.parameters) {
    if (p.in === 'path') {
      const pool = known.get(prefixFor(op.path)) ?? []
      const id = pool.length && rnd.chance(0.7) ? rnd.pick(pool) : rnd.pick(strangeIds)
      path = path.replace(`{${p.name}}`, id.includes('%') ? id : encodeURIComponent(id))
    } else if (p.required || rnd.chance(0.5)) {
      const value = String(sample(p.schema, rnd))
      if (p.in === 'query') query.set(p.name, value)
      else headers[p.name] = value
    }
  }
  let body: string | undefined
  let value = op.body ? sample(op.body, rnd) : undefined
  const threads = known.get('thread') ?? []
  if (value && typeof value === 'object' && 'threadId' in value && threads.length && rnd.chance(0.7))
    value = { ...value, threadId: rnd.pick(threads) }
  const roll = rnd.int(10)
  if (roll < 2) {
    // keep it valid
  } else if (roll < 6 && value !== undefined) {
    kind = 'body'
    value = mutateValue(value, rnd)
    if (rnd.chance(0.3)) value = mutateValue(value, rnd)
  } else if (roll < 7 && value !== undefined) {
    kind = 'broken-body'
    body = rnd.pick(brokenBodies)
  } else if (roll < 8) {
    kind = 'query'
    const name =
      op.parameters.find((p) => p.in === 'query')?.name ?? rnd.pick(['after', 'limit', 'wait', 'x'])
    query.set(name, String(rnd.chance(0.5) ? rnd.pick(nastyNumbers) : rnd.pick(nastyStrings)).slice(0, 2000))
  } else if (roll < 9) {
    kind = 'headers'
    headers['last-event-id'] = rnd.pick(['-1', '1e400', '99999999999999999999', 'abc', ' 3 ', '0'])
    headers.accept = rnd.pick(['text/event-stream', 'application/x-ndjson', '*/*', 'application/json'])
  } else {
    kind = 'content-type'
    headers['content-type'] = rnd.pick([
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/json; charset=latin1',
      '',
    ])
  }
  if (body === undefined && value !== undefined) body = JSON.stringify(value)
  if (body !== undefined && headers['content-type'] === undefined)
    headers['content-type'] = 'application/json'
  if (body === undefined && op.method === 'POST' && rnd.chance(0.2)) {
    kind = `${kind}+no-body-json`
    headers['content-type'] = 'application/json'
    body = rnd.pick(['', JSON.stringify(anyValue(rnd))])
  }
  const qs = query.toString()
  return {
    method: op.method,
    url: qs ? `${path}?${qs}` : path,
    headers,
    ...(body !== undefined ? { body } : {}),
    kind,
  }
}

/** Which pool of known ids a path's `{id}` draws from. */
export function prefixFor(path: string): string {
  if (path.startsWith('/v1/runs')) return 'run'
  if (path.startsWith('/v1/sessions')) return 'ses'
  if (path.startsWith('/v1/approvals')) return 'apr'
  return 'other'
}
