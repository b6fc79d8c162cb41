import type { StreamState } from '../use-events.js'

/**
 * The stream's state where a reader at the bottom sees it (the bar at the screen's bottom): shown only while it
 * reconnects, since "live" is the rule and the toolbar at the view's top says it. Not read by a screen reader
 * (aria-hidden): the toolbar's `status` region already says each change of state, once.
 */
export function ConnectionNote({ state }: { state: StreamState }) {
  if (state !== 'reconnecting') return null
  return (
    <p class="connection-note stream-state st-reconnecting" aria-hidden="true" data-testid="bar-stream-state">
      reconnecting: new output shows once it is back
    </p>
  )
}
