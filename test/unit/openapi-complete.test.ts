import { beforeAll, describe, expect, it } from 'vitest'
import { openApiDocument } from '../../scripts/openapi-document.js'
import { errorRegistry } from '../../src/protocol/errors.js'
import { agentEvent } from '../../src/protocol/events.js'
import { item } from '../../src/protocol/items.js'
import { NotAMember } from '../../src/store/store.js'

// biome-ignore lint/suspicious/noExplicitAny: walking a JSON document
type Json = Record<string, any>

const fix = 'describe it in src/http/openapi-operations.ts'

/** Every operation of /openapi.json is documented: what a reader of /docs or /redoc needs, and names to generate from. */
describe('OpenAPI document completeness', () => {
  let doc: Json
  const operations: [string, Json][] = []
  beforeAll(async () => {
    doc = await openApiDocument()
    for (const [path, ops] of Object.entries<Json>(doc.paths))
      for (const [method, op] of Object.entries<Json>(ops))
        operations.push([`${method.toUpperCase()} ${path}`, op])
  }, 60_000)

  it('every operation has a summary, a tag and at least one example', () => {
    expect(operations.length).toBeGreaterThan(30)
    for (const [key, op] of operations) {
      expect(op.summary, `${key} has no summary: ${fix}`).toBeTruthy()
      expect(op.tags?.length, `${key} has no tag: ${fix}`).toBeGreaterThan(0)
      const media = [
        ...Object.values<Json>(op.requestBody?.content ?? {}),
        ...Object.values<Json>(op.responses ?? {}).flatMap((r) => Object.values<Json>(r.content ?? {})),
      ]
      expect(
        media.some((m) => m.example !== undefined || m.examples !== undefined),
        `${key} has no example: ${fix}`,
      ).toBe(true)
    }
  })

  it('request bodies, JSON answers and errors are named components', () => {
    for (const [key, op] of operations) {
      const body = op.requestBody?.content?.['application/json']
      if (body) expect(body.schema.$ref, `${key} request body`).toMatch(/^#\/components\/schemas\//)
      for (const [status, response] of Object.entries<Json>(op.responses)) {
        if (Number(status) >= 400) {
          expect(response.$ref, `${key} ${status}`).toMatch(/^#\/components\/responses\//)
          continue
        }
        for (const [type, media] of Object.entries<Json>(response.content ?? {}))
          if (type !== 'text/plain')
            expect(media.schema.$ref ?? media.schema.items?.$ref, `${key} ${status} ${type}`).toMatch(
              /^#\/components\/schemas\//,
            )
      }
      // /health included: open, but a wrong token sent to it is refused
      expect(Object.keys(op.responses), `${key} answers 401`).toContain('401')
      // a token without the scope, or (without API_TOKENS) the browser origin guard: /health included
      expect(Object.keys(op.responses), `${key} answers 403`).toContain('403')
    }
  })

  it("/health's report beyond the seeds' fields is optional: a request without a token gets only those", () => {
    const health: Json = doc.components.schemas.Health
    expect(health.required).toEqual(['status', 'service', 'codex_alive'])
    for (const field of ['agents', 'store', 'runs', 'containers'])
      expect(health.properties[field]?.description, field).toMatch(/^(.* )?Only in the full report/)
  })

  it('every error code has a named example in the error responses, with the route family’s body shape', () => {
    const examples = Object.values<Json>(doc.components.responses).flatMap((r) =>
      Object.keys(r.content['application/json'].examples),
    )
    // headers_too_large (and request_timeout for a head) answer a connection whose request never made it to a route;
    // method_not_allowed a method no operation of the path has
    const noRoute = [
      'method_not_allowed',
      'forbidden',
      'unsupported_media_type',
      'internal',
      'request_timeout',
      'headers_too_large',
    ]
    for (const code of Object.keys(errorRegistry).filter((c) => !noRoute.includes(c)))
      expect(examples, code).toContain(code)
    expect(doc.components.schemas.ErrorCode.enum).toEqual(Object.keys(errorRegistry))
    const ref = (key: string, status: number) =>
      operations.find(([k]) => k === key)![1].responses[status].$ref as string
    expect(ref('POST /v1/runs', 400)).toBe('#/components/responses/V1Error400')
    expect(ref('POST /chat', 503)).toBe('#/components/responses/ApiPlanError503')
    expect(ref('POST /run', 400)).toBe('#/components/responses/FastApiError400')
    expect(ref('POST /api/turn/start', 400)).toBe('#/components/responses/FastApiError400')
    const fastapi = doc.components.responses.FastApiError400.content['application/json'].examples
    expect(Object.keys(fastapi.invalid_request.value)).toEqual(['detail'])
    // seed 003's unknown thread: app-server's error object as `detail`; its turn timeout a 504
    expect(fastapi.app_server_error.value.detail).toMatchObject({ code: -32600 })
    expect(ref('POST /api/turn/start', 504)).toBe('#/components/responses/FastApiError504')
    expect(operations.find(([k]) => k === 'POST /api/thread/read')![1].responses[404]).toBeUndefined()
  })

  it('408: every route that reads a body lists it, and says it means a late agent or a late request', () => {
    const withBody = operations.filter(([, op]) => op.requestBody)
    expect(withBody.length).toBeGreaterThan(10)
    for (const [key, op] of withBody) expect(Object.keys(op.responses), `${key} answers 408`).toContain('408')
    for (const shape of ['V1Error', 'ApiPlanError', 'FastApiError']) {
      const response = doc.components.responses[`${shape}408`]
      expect(response.description, shape).toMatch(/timed_out.*request_timeout.*BODY_IDLE_SECONDS/s)
      const examples = response.content['application/json'].examples
      expect(Object.keys(examples), shape).toEqual(
        expect.arrayContaining(['timed_out', 'request_timeout_body_idle', 'request_timeout_body_slow']),
      )
    }
  })

  it("415: every route that reads a body lists it, with its own family's error body", () => {
    // seed 001's, 002's and 003's routes read any content-type, as FastAPI did, and answer 422 instead
    const fastapiBodies = operations
      .map(([key]) => key)
      .filter((key) => /^POST \/(api\/(codex|thread|turn|skills)\/|run$)/.test(key))
    expect(fastapiBodies).toEqual(
      expect.arrayContaining(['POST /api/codex/run', 'POST /api/turn/start', 'POST /run']),
    )
    expect(fastapiBodies).toHaveLength(10)
    const withBody = operations.filter(([key, op]) => op.requestBody && !fastapiBodies.includes(key))
    expect(withBody.map(([key]) => key)).toEqual(expect.arrayContaining(['POST /v1/runs', 'POST /chat']))
    for (const key of fastapiBodies) {
      const op = operations.find(([k]) => k === key)![1]
      expect(op.responses['415'], key).toBeUndefined()
      expect(op.responses['422']?.$ref, key).toBe('#/components/responses/FastApiValidationError')
    }
    for (const [key, op] of withBody) {
      const family = String(op.responses['401'].$ref).replace(/401$/, '')
      expect(op.responses['415']?.$ref, `${key} answers 415`).toBe(`${family}415`)
      const response = doc.components.responses[`${family.split('/').at(-1)}415`]
      expect(response.content['application/json'].examples.unsupported_media_type, key).toBeDefined()
    }
  })

  it("413: every route that reads a body lists it, with its own family's error body", () => {
    const withBody = operations.filter(([, op]) => op.requestBody)
    for (const route of [
      'POST /v1/sessions',
      'POST /v1/sessions/{id}/turns',
      'POST /v1/approvals/{id}',
      'POST /api/thread/start',
      'POST /api/skills/list',
    ])
      expect(withBody.map(([key]) => key)).toContain(route)
    const shapes = new Set<string>()
    for (const [key, op] of withBody) {
      const ref: string | undefined = op.responses['413']?.$ref
      expect(ref, `${key} answers 413`).toMatch(/^#\/components\/responses\/\w+413$/)
      // the same family as its other errors (the 401 every route but /health lists)
      const family = String(op.responses['401'].$ref).replace(/401$/, '')
      expect(ref, key).toBe(`${family}413`)
      shapes.add(family)
      const response = doc.components.responses[ref!.split('/').at(-1)!]
      const example = response.content['application/json'].examples.body_too_large
      expect(example, `${key}: a body_too_large example`).toBeDefined()
    }
    expect(shapes.size).toBeGreaterThan(1)
    const fastapi =
      doc.components.responses.FastApiError413.content['application/json'].examples.body_too_large
    expect(fastapi.value).toEqual({ detail: expect.stringMatching(/BODY_LIMIT_BYTES/) })
    const v1 = doc.components.responses.V1Error413.content['application/json'].examples.body_too_large
    expect(v1.value.error.code).toBe('body_too_large')
  })

  it('503 worker_unavailable says a node taken for dead refuses work until it rejoins, and to retry, maybe elsewhere', () => {
    const response = doc.components.responses.V1Error503
    expect(response.description).toMatch(/taken for dead.*rejoined.*Retry-After, on this node or another/s)
    const rejoining = response.content['application/json'].examples.worker_unavailable_rejoining
    expect(rejoining.description).toMatch(
      /taken for dead.*rejoined.*Retry after Retry-After, on this node or another/s,
    )
    expect(rejoining.value).toEqual({
      error: {
        code: 'worker_unavailable',
        message: new NotAMember('node_01JD4Z8Q6N7W3V2K5M9P0R1S2T').message,
      },
    })
  })

  it('503 session_taken_over: a turn or archive on a node whose session another node took over says so', () => {
    const response = doc.components.responses.V1Error503
    expect(response.description).toMatch(/session_taken_over.*nothing stored/s)
    const example = response.content['application/json'].examples.session_taken_over
    expect(example.value.error.code).toBe('session_taken_over')
    expect(example.value.error.message).toMatch(/was taken over by node node_\w+.*retry/)
    for (const route of ['/v1/sessions/{id}/turns', '/v1/sessions/{id}/archive'])
      expect(Object.keys(doc.paths[route].post.responses)).toContain('503')
  })

  it('every event and item type is a named component; streams say what they carry', () => {
    const schemas = Object.values<Json>(doc.components.schemas)
    const types = (s: Json) => s.properties?.type?.const
    for (const variant of agentEvent.options)
      expect(schemas.map(types), variant.shape.type.value).toContain(variant.shape.type.value)
    for (const variant of item.options)
      expect(schemas.map(types), variant.shape.type.value).toContain(variant.shape.type.value)
    const content = (key: string) => operations.find(([k]) => k === key)![1].responses[200].content
    for (const key of [
      'GET /v1/runs/{id}/events',
      'GET /v1/sessions/{id}/events',
      'POST /v1/runs',
      'POST /v1/sessions/{id}/turns',
    ]) {
      expect(content(key)['text/event-stream'].schema.$ref, key).toBe('#/components/schemas/StoredEvent')
      expect(content(key)['application/x-ndjson'].schema.$ref, key).toBe('#/components/schemas/StoredEvent')
    }
    expect(content('POST /api/codex/stream')['text/event-stream'].schema.$ref).toBe(
      '#/components/schemas/CodexEvent',
    )
    expect(content('POST /run')['application/x-ndjson'].schema.$ref).toBe('#/components/schemas/CliFrame')
    expect(Object.keys(content('GET /hello'))).toEqual(['text/plain'])
  })

  it('the seed routes are grouped under their own tags', () => {
    const tagOf = (key: string) => operations.find(([k]) => k === key)![1].tags[0]
    expect(tagOf('GET /hello')).toBe('seed 000: codex api plan')
    expect(tagOf('POST /run')).toBe('seed 001: codex.serve')
    expect(tagOf('POST /api/codex/stream')).toBe('seed 002: codex streaming')
    expect(tagOf('POST /api/thread/start')).toBe('seed 003: codex agent server')
    const declared = doc.tags.map((t: Json) => t.name)
    for (const [key, op] of operations) expect(declared, key).toContain(op.tags[0])
  })
})
