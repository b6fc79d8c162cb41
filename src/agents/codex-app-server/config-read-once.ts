import { AppServerProcess, type AppServerProcessOptions } from './app-server-process.js'
import type { ConfigRead } from './include-only-reader.js'

/**
 * `config/read` for `cwd` through `running` while it runs, else through an app-server started for this one
 * read and closed after it, whatever the answer: reading the config never leaves an app-server behind (a
 * `codex exec` run with warm runs off, codex-acp).
 */
export function configReadVia(
  options: AppServerProcessOptions,
  running?: () => AppServerProcess | undefined,
): ConfigRead {
  return async (cwd) => {
    const warm = running?.()
    if (warm?.pid !== undefined) return warm.request('config/read', { cwd })
    const once = new AppServerProcess(options)
    try {
      return await once.request('config/read', { cwd })
    } finally {
      await once.close()
    }
  }
}
