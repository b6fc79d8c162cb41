import path from 'node:path'
import { clientSchemaFile, clientSchemaSource, openApiDocument } from './openapi-document.js'
import { writeIfChanged } from './write-if-changed.js'

/** `npm run generate:client`: rewrites the typed client's types from the server's OpenAPI document (if they changed). */
const file = path.relative(process.cwd(), clientSchemaFile)
const wrote = writeIfChanged(clientSchemaFile, await clientSchemaSource(await openApiDocument()))
console.log(wrote ? `wrote ${file}` : `${file} is up to date`)
