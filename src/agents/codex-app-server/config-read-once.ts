import type { AppServerProcess, AppServerProcessOptions } from './app-server-process.js'
import type { ConfigRead } from './include-only-reader.js'

/** `config/read` (`read`) and the end of every app-server started for one read still running (`close`). */
export interface ClosableConfigRead {
  read: ConfigRead
  /** Ends the app-servers of reads in flight (their reads fail); reads after it that need one fail at once. */
  close(): Promise<void>
}

/**
 * `config/read` for `cwd` through the app-server `kept` names (one that is kept running anyway), else through
 * an app-server started for this one read and closed after it, whatever the answer: such a read never leaves
 * an app-server behind (a `codex exec` run with warm runs off, codex-acp). The driver's close (the gateway's
 * stop) ends those still running: a stop while one reads must not leave it.
 */
export function configReadVia(
  options: AppServerProcessOptions,
  kept?: () => Promise<AppServerProcess | undefined> | AppServerProcess | undefined,
): ClosableConfigRead {
  const running = new Set<AppServerProcess>()
  let closed = false
  return {
    read: async (cwd) => {
      const warm = await kept?.()
      if (warm) return warm.request('config/read', { cwd })
      if (closed) throw new Error('codex config/read: the agent was closed (the gateway is stopping)')
      // loaded with the first read that needs one: an idle server does not hold the app-server's modules
      const { AppServerProcess } = await import('./app-server-process.js')
      const once = new AppServerProcess(options)
      running.add(once)
      try {
        return await once.request('config/read', { cwd })
      } finally {
        running.delete(once)
        await once.close()
      }
    },
    close: async () => {
      closed = true
      await Promise.all([...running].map((once) => once.close()))
    },
  }
}
