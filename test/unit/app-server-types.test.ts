import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { expect, it } from 'vitest'
import { addJsExtensions } from '../../src/agents/codex-app-server/esm-imports.js'
import {
  generateAppServerTypes,
  generatedTypesDir,
  listFiles,
} from '../../src/agents/codex-app-server/generate-types.js'
import { resolveCodexBinary } from '../../src/agents/codex-binary.js'
import { removeDir, tempDir } from '../support/temp.js'

const stale =
  'the committed app-server types differ from the pinned codex: run `npm run generate:app-server-types`'

it('the committed app-server types match what the pinned codex generates', async () => {
  const binary = resolveCodexBinary()
  expect(binary, 'codex is not installed (npm ci)').not.toBeNull()
  const dir = tempDir('app-server-types-')
  try {
    const fresh = path.join(dir, 'generated')
    await generateAppServerTypes(binary!, fresh)
    const files = await listFiles(fresh)
    expect(files.length).toBeGreaterThan(100)
    expect(await listFiles(generatedTypesDir), stale).toEqual(files)
    const differing: string[] = []
    for (const file of files) {
      const [a, b] = await Promise.all([
        readFile(path.join(fresh, file), 'utf8'),
        readFile(path.join(generatedTypesDir, file), 'utf8'),
      ])
      if (a !== b) differing.push(file)
    }
    expect(differing, stale).toEqual([])
  } finally {
    removeDir(dir)
  }
})

it('relative imports get .js, folders get /index.js, everything else is left alone', () => {
  const dir = path.join(import.meta.dirname, '../../src/agents/codex-app-server/generated')
  const source = [
    'import type { A } from "./A";',
    'import type { B } from "../B";',
    'export * as v2 from "./v2";',
    'import type { C } from "./C.js";',
    'import { z } from "zod";',
    'const s = "from ./nothing";',
  ].join('\n')
  expect(addJsExtensions(source, dir)).toBe(
    [
      'import type { A } from "./A.js";',
      'import type { B } from "../B.js";',
      'export * as v2 from "./v2/index.js";',
      'import type { C } from "./C.js";',
      'import { z } from "zod";',
      'const s = "from ./nothing";',
    ].join('\n'),
  )
})
