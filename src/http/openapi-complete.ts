import { addErrorSchemas, errorResponse, fastapiValidationResponse } from './openapi-error-responses.js'
import { type OperationDoc, operationDocs, tagDocs } from './openapi-operations.js'
import { completeSuccess } from './openapi-success-responses.js'

// biome-ignore lint/suspicious/noExplicitAny: a JSON document walked by key
type Json = Record<string, any>

/**
 * Completes the generated document: every operation gets its tag, summary, examples, named request and
 * response schemas, a description of its stream, and its error responses as named components (one example per
 * error code, made by the same `errorBody` the server answers with). Events, items and error codes are named
 * components too. Only the document changes; what routes validate and send stays as their schemas say.
 */
export function completeDocument(doc: Json): Json {
  doc.components = { schemas: {}, responses: {}, ...doc.components }
  const schemas: Json = doc.components.schemas
  const responses: Json = doc.components.responses
  addErrorSchemas(schemas)
  schemas.StoredEvent = {
    description: 'An event as stored and sent: one AgentEvent plus seq (the SSE id), time and owner.',
    allOf: [{ $ref: '#/components/schemas/AgentEvent' }, { $ref: '#/components/schemas/StoredEventMeta' }],
  }
  schemas.CliFrame = {
    description: "One NDJSON frame of POST /run: the CLI's output, then its exit code.",
    oneOf: [
      {
        type: 'object',
        properties: { type: { enum: ['stdout', 'stderr'] }, data: { type: 'string' } },
        required: ['type', 'data'],
      },
      {
        type: 'object',
        properties: { type: { const: 'exit' }, code: { type: 'integer' } },
        required: ['type', 'code'],
      },
    ],
  }
  schemas.CodexEvent = {
    type: 'object',
    description: "One of codex's own JSONL events (`codex exec --json`), verbatim.",
    properties: { type: { type: 'string' } },
    required: ['type'],
    additionalProperties: true,
  }

  const name = (media: Json | undefined, as: string | undefined) => {
    if (!media?.schema || !as || media.schema.$ref) return
    schemas[as] ??= media.schema
    media.schema = { $ref: `#/components/schemas/${as}` }
  }

  for (const [path, operations] of Object.entries<Json>(doc.paths ?? {})) {
    for (const [method, op] of Object.entries<Json>(operations)) {
      const d: OperationDoc | undefined = operationDocs[`${method.toUpperCase()} ${path}`]
      if (!d) continue
      op.tags = [d.tag]
      op.summary ??= d.summary
      op.operationId ??= operationId(method, path)
      const body = op.requestBody?.content?.['application/json']
      if (body) {
        name(body, d.request)
        if (d.requestExample !== undefined) body.example = d.requestExample
      }
      completeSuccess(op, d, name, schemas)
      for (const status of Object.keys(op.responses ?? {}))
        if (Number(status) >= 400) delete op.responses[status]
      const shape = d.errorShape ?? 'v1'
      // 401 and a scope's 403 when API_TOKENS is set (/health is open, but a wrong token sent to it is a 401);
      // without it, the browser origin guard's 403 on every route (src/http/browser-origin.ts)
      const statuses = [401, 403, ...d.errors.filter((s) => s !== 403)]
      // A route that reads a body may answer 408 `request_timeout` when the body stalls (src/http/body-clock.ts),
      // 413 `body_too_large` when it is larger than BODY_LIMIT_BYTES (every route's body limit, http/app.ts), and
      // 415 `unsupported_media_type` when it is not sent as application/json (Fastify's parsers, http/errors.ts).
      // (A body read as FastAPI read it takes any content-type and answers 422 instead.)
      const bodyStatuses = d.fastapiBody ? [408, 413] : [408, 413, 415]
      if (op.requestBody) for (const s of bodyStatuses) if (!statuses.includes(s)) statuses.push(s)
      statuses.sort((a, b) => a - b)
      for (const status of statuses) op.responses[status] = errorResponse(responses, shape, status)
      if (d.fastapiBody) op.responses[422] = fastapiValidationResponse(responses, schemas)
      if (d.unready) {
        const value: Json = { ...(d.responseExample as Json), status: 'unhealthy' }
        value.store = { ...value.store, ready: false }
        responses.Unhealthy ??= {
          description: d.unready,
          content: {
            'application/json': {
              schema: { $ref: `#/components/schemas/${d.response}` },
              examples: { unhealthy: { summary: 'the store does not answer', value } },
            },
          },
        }
        op.responses[503] = { $ref: '#/components/responses/Unhealthy' }
      }
    }
  }
  doc.tags = tagDocs
  dropDuplicateInputs(doc)
  return doc
}

/** `POST /v1/runs/{id}/cancel` -> `postV1RunsIdCancel`. */
function operationId(method: string, path: string): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter(Boolean)
  return method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')
}

/** The zod provider names an input twin (`RunInput`) of every named schema; keep one where they are equal. */
function dropDuplicateInputs(doc: Json): void {
  const schemas: Json = doc.components.schemas
  const renames = new Map<string, string>()
  for (const key of Object.keys(schemas))
    if (key.endsWith('Input') && schemas[key.slice(0, -5)] !== undefined) renames.set(key, key.slice(0, -5))
  // Compare with the refs already renamed, so nested twins (RunListInput -> RunInput) count as equal.
  const rename = (text: string) =>
    text.replace(/#\/components\/schemas\/([A-Za-z0-9]+Input)"/g, (m, n) =>
      renames.has(n) ? `#/components/schemas/${renames.get(n)}"` : m,
    )
  // Outputs also say `additionalProperties: false`; otherwise the twins are the same shape.
  const shape = (schema: Json) =>
    rename(JSON.stringify(schema)).replaceAll(',"additionalProperties":false', '')
  for (const [input, output] of [...renames])
    if (shape(schemas[input]) !== shape(schemas[output])) renames.delete(input)
  for (const input of renames.keys()) delete schemas[input]
  const text = rename(JSON.stringify(doc))
  Object.assign(doc, JSON.parse(text))
}
