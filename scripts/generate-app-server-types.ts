import { generateAppServerTypes, generatedTypesDir } from '../src/agents/codex-app-server/generate-types.js'
import { resolveCodexBinary } from '../src/agents/codex-binary.js'

/**
 * `npm run generate:app-server-types`: regenerates src/agents/codex-app-server/generated/ from the pinned codex
 * (`codex app-server generate-ts`). Run it after bumping @openai/codex; test/unit/app-server-types.test.ts fails
 * until the committed files match the binary.
 */
const binary = resolveCodexBinary()
if (!binary) {
  console.error('codex is not installed: run `npm ci` (the pinned @openai/codex dependency)')
  process.exit(1)
}
await generateAppServerTypes(binary, generatedTypesDir)
console.log(`wrote ${generatedTypesDir}`)
