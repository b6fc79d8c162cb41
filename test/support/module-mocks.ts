import { vi } from 'vitest'

/**
 * vi.mock in a worker that shares its modules between files (test/unit: vitest.config.ts, `isolate: false`):
 * vitest keeps each file's mocks apart (a later file importing the mocked module itself gets the real one), but
 * every module the file loaded while its mock was on stays loaded with the mock inside, for the later files of
 * the worker, and a module an earlier file loaded is not mocked at all. A file that mocks a module belongs
 * among vitest.config.ts's fresh-process files. vitest's own objects (`__vitest_mocker__`, `__vitest_worker__`)
 * are read here: nothing public says which modules a file mocked.
 */
interface Mocker {
  registries?: Map<string, { keys(): Iterable<string> }>
}
interface WorkerState {
  config?: { isolate?: boolean }
}
const vitestGlobals = globalThis as { __vitest_mocker__?: Mocker; __vitest_worker__?: WorkerState }

/** The modules `file` mocked (none in a worker that isolates its files); dropped, with every module loaded. */
export function takeModuleMocks(file: string): string[] {
  if (vitestGlobals.__vitest_worker__?.config?.isolate !== false) return []
  const registries = vitestGlobals.__vitest_mocker__?.registries
  const mocked = [...(registries?.get(file)?.keys() ?? [])]
  if (mocked.length === 0) return []
  registries?.delete(file)
  // the modules that hold the mocks are not known: the next file loads src/ afresh
  vi.resetModules()
  return mocked
}
