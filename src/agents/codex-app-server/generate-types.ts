import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { baseChildEnv } from '../../process/child-env.js'
import { collectOutput } from '../../process/collect-output.js'
import { localRunner } from '../../process/local-runner.js'
import { addJsExtensions } from './esm-imports.js'

/** Where the committed bindings live (`npm run generate:app-server-types` rewrites them). */
export const generatedTypesDir = path.resolve(import.meta.dirname, 'generated')

/**
 * Writes the app-server protocol bindings of `binary` (`codex app-server generate-ts`, stable API only) into
 * `outDir`, replacing what was there, with relative imports made NodeNext-valid (see esm-imports.ts).
 */
export async function generateAppServerTypes(binary: string, outDir: string): Promise<void> {
  await rm(outDir, { recursive: true, force: true })
  await mkdir(outDir, { recursive: true })
  // An empty CODEX_HOME: the user's config must not influence the output.
  const codexHome = await mkdtemp(path.join(os.tmpdir(), 'agent-gateway-codegen-'))
  try {
    const { outcome, text: stderr } = await collectOutput(
      localRunner,
      {
        command: binary,
        args: ['app-server', 'generate-ts', '--out', outDir],
        cwd: path.dirname(outDir),
        env: { ...baseChildEnv(), CODEX_HOME: codexHome },
        stdin: null,
        timeoutMs: 60_000,
        killGraceMs: 1000,
      },
      'stderr',
    )
    if (outcome.exitCode !== 0)
      throw new Error(
        `codex app-server generate-ts failed (${outcome.error ?? `exit ${outcome.exitCode}, ${outcome.reason}`}): ${stderr.trim()}`,
      )
  } finally {
    await rm(codexHome, { recursive: true, force: true })
  }
  for (const file of await listFiles(outDir)) {
    if (!file.endsWith('.ts')) continue
    const full = path.join(outDir, file)
    const source = await readFile(full, 'utf8')
    const fixed = addJsExtensions(source, path.dirname(full))
    if (fixed !== source) await writeFile(full, fixed)
  }
}

/** Every file under `dir`, as sorted `/`-separated relative paths. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort()
}
