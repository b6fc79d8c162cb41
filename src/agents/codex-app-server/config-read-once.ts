import { AppServerProcess, type AppServerProcessOptions } from './app-server-process.js'
import type { ConfigRead } from './include-only-reader.js'

/**
 * `config/read` for `cwd` through the app-server `kept` names (one that is kept running anyway), else through
 * an app-server started for this one read and closed after it, whatever the answer: such a read never leaves
 * an app-server behind (a `codex exec` run with warm runs off, codex-acp).
 */
export function configReadVia(
  options: AppServerProcessOptions,
  kept?: () => AppServerProcess | undefined,
): ConfigRead {
  return async (cwd) => {
    const warm = kept?.()
    if (warm) return warm.request('config/read', { cwd })
    const once = new AppServerProcess(options)
    try {
      return await once.request('config/read', { cwd })
    } finally {
      await once.close()
    }
  }
}
