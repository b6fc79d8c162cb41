/**
 * Runs this page started (the New run form), by id: their view reads every event as news, so it follows the run to
 * its end even when the run was quicker than the view's first read of it (a fast command on a loaded server: all of
 * its events came as the history, and the view, left at its top, showed none of the answer). A run opened from the
 * history, or a link, is read from its top as before.
 */
const started = new Set<string>()

export const markStartedHere = (id: string): void => {
  started.add(id)
}

export const startedHere = (id: string): boolean => started.has(id)
