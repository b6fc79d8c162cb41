/**
 * The gateway's modules a bench drives in its own process, loaded at run time from a checkout's built dist/
 * (`--built`: what `npm start` runs; `npm run build` first) or from its src/ through tsx. tsx compiles with esbuild's
 * keepNames, which adds a `__name` call to every function and class made at run time, so from src/ the gateway
 * spends more CPU per turn than the built code does (docs/benchmarks.md, "Issue 14, session 15"). Used by
 * bench/turn-cpu.ts and bench/session-turns.ts (also for a --baseline checkout's gateway).
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type * as DriverModule from '../src/agents/codex/driver.js'
import type * as AppServerProcessModule from '../src/agents/codex-app-server/app-server-process.js'
import type * as ThreadSettingsModule from '../src/agents/codex-app-server/thread-settings.js'
import type * as TurnMapperModule from '../src/agents/codex-app-server/turn-mapper.js'
import type * as ServerModule from '../src/http/server.js'
import { BenchError } from './options.js'

/** This checkout. */
export const thisCheckout = path.join(import.meta.dirname, '..')

/** For a report's header: which code of the gateway ran. */
export const codeRan = (built: boolean): string => (built ? 'dist/ (built)' : 'src/ (tsx)')

/**
 * Loads one module of the gateway of `root` by its path under src/ as the build names it (`http/server.js`):
 * dist/http/server.js with `built`, src/http/server.ts otherwise. A missing file is a BenchError naming it.
 */
export function gatewayLoader(built: boolean, root = thisCheckout): <T>(file: string) => Promise<T> {
  const dir = path.join(root, built ? 'dist' : 'src')
  return async <T>(file: string): Promise<T> => {
    const full = path.join(dir, built ? file : file.replace(/\.js$/, '.ts'))
    if (!existsSync(full))
      throw new BenchError(`${full} is missing${built ? ': run `npm run build` first' : ''}`)
    return (await import(pathToFileURL(full).href)) as T
  }
}

/**
 * The modules the benches use, all from the same code (dist/ or src/), so that a class the bench checks or
 * instruments (CodexDriver, TurnEventMapper) is the one the gateway it starts runs.
 */
export async function gatewayModules(built: boolean, root = thisCheckout) {
  const load = gatewayLoader(built, root)
  return {
    ...(await load<typeof ServerModule>('http/server.js')),
    ...(await load<typeof ThreadSettingsModule>('agents/codex-app-server/thread-settings.js')),
    ...(await load<typeof AppServerProcessModule>('agents/codex-app-server/app-server-process.js')),
    ...(await load<typeof TurnMapperModule>('agents/codex-app-server/turn-mapper.js')),
    ...(await load<typeof DriverModule>('agents/codex/driver.js')),
  }
}
