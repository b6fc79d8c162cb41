/** What idleUnloaded reads of a gateway: whether a session is loaded (SessionManager.isLoaded). */
interface LoadedSessions {
  isLoaded(id: string): boolean
}

/**
 * Waits until session `id` is unloaded (SESSION_IDLE_SECONDS passed: its agent session let go), polling what the
 * gateway holds (no event says it); false if it is still loaded after `ms`.
 */
export async function idleUnloaded(sessions: LoadedSessions, id: string, ms = 20_000): Promise<boolean> {
  const deadline = Date.now() + ms
  while (sessions.isLoaded(id)) {
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return true
}
