import { readFileSync } from 'node:fs'
import path from 'node:path'
import { Validator } from '@seriousme/openapi-schema-validator'
import { beforeAll, describe, expect, it } from 'vitest'
import { clientSchemaFile, clientSchemaSource, openApiDocument } from '../../scripts/openapi-document.js'

/**
 * The operations README's HTTP API table names, as `post /v1/sessions/{id}/fork`: each row's first cell holds
 * routes in backticks, `POST /v1/sessions/:id/interrupt` · `/fork` (the previous route with its last segment
 * replaced, same method) or `/api/thread/resume\\|read\\|fork` (alternatives of the last segment; a table cell's `|`
 * is escaped).
 */
function readmeOperations(readme: string): Set<string> {
  const table = readme.slice(readme.indexOf('## HTTP API'), readme.indexOf('## Errors'))
  const operations = new Set<string>()
  for (const [, cell] of table.matchAll(/^\| (.+?) \| /gm)) {
    let method = ''
    let previous = ''
    for (const [, verb, route] of cell!.matchAll(/`(?:(GET|POST|PUT|PATCH|DELETE) )?(\/[^\s`?{]*)/g)) {
      if (verb) method = verb.toLowerCase()
      const relative = !verb && previous && !route!.slice(1).includes('/')
      const full = relative ? previous.replace(/\/[^/]+$/, route!) : route!
      previous = full
      const base = full.replace(/[^/]+$/, '')
      for (const last of full.slice(base.length).split(/\\?\|/))
        operations.add(`${method} ${(base + last).replace(/:(\w+)/g, '{$1}')}`)
    }
  }
  return operations
}

/** The OpenAPI document the server serves, and the typed client generated from it. */
describe('OpenAPI document and typed client', () => {
  let doc: Record<string, unknown>
  beforeAll(async () => {
    doc = await openApiDocument()
  }, 60_000)

  it('passes the OpenAPI 3.1 validator', async () => {
    const result = await new Validator().validate(doc as never)
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([])
    expect(result.valid).toBe(true)
    expect(doc.openapi).toBe('3.1.0')
  })

  it('the typed client matches the document (run `npm run generate:client` after changing a route)', async () => {
    const expected = await clientSchemaSource(doc)
    const committed = readFileSync(clientSchemaFile, 'utf8')
    expect(
      committed === expected,
      'src/client/generated/schema.ts differs from /openapi.json: run `npm run generate:client`',
    ).toBe(true)
  })

  it("every operation of the document is in README's HTTP API table (a user finds each route there)", () => {
    const readme = readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8')
    const named = readmeOperations(readme)
    const operations = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(
      ([route, methods]) => Object.keys(methods).map((method) => `${method} ${route}`),
    )
    expect(operations.length).toBeGreaterThan(30)
    expect(operations.filter((operation) => !named.has(operation))).toEqual([])
  })
})
