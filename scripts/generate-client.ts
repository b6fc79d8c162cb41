import { writeFileSync } from 'node:fs'
import { clientSchemaFile, clientSchemaSource, openApiDocument } from './openapi-document.js'

/** `npm run generate:client`: rewrites the typed client's types from the server's OpenAPI document. */
writeFileSync(clientSchemaFile, await clientSchemaSource(await openApiDocument()))
console.log(`wrote ${clientSchemaFile}`)
