import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import openapiTS, { astToString } from 'openapi-typescript'
import { loadConfig } from '../src/config/load.js'
import { createGateway, stopGateway } from '../src/core/gateway.js'
import { buildApp } from '../src/http/app.js'

/** Where the typed client's generated types live (src/client imports them). */
export const clientSchemaFile = path.resolve(import.meta.dirname, '../src/client/generated/schema.ts')

/** The server's OpenAPI document, as /openapi.json serves it, from an app built in a throwaway directory. */
export async function openApiDocument(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agw-openapi-'))
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, CODEX_HOME: dir, AGENTS: 'codex' }
  const config = loadConfig(env, dir)
  mkdirSync(config.DATA_DIR, { recursive: true })
  mkdirSync(config.WORKSPACE_DIR, { recursive: true })
  const ctx = await createGateway(config, env)
  const app = await buildApp(ctx, { logger: false })
  try {
    await app.ready()
    return (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as Record<string, unknown>
  } finally {
    await app.close()
    await stopGateway(ctx, 0)
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The typed client's source for a document (openapi-typescript), with a header that says how to remake it. */
export async function clientSchemaSource(document: Record<string, unknown>): Promise<string> {
  // defaultNonNullable off: a field with a default stays optional in requests (named request schemas are components).
  const ast = await openapiTS(document as never, { alphabetize: true, defaultNonNullable: false })
  return `// Generated from /openapi.json by \`npm run generate:client\`. Do not edit.\n\n${astToString(ast)}`
}
