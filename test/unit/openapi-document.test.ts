import { readFileSync } from 'node:fs'
import { Validator } from '@seriousme/openapi-schema-validator'
import { beforeAll, describe, expect, it } from 'vitest'
import { clientSchemaFile, clientSchemaSource, openApiDocument } from '../../scripts/openapi-document.js'

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
})
