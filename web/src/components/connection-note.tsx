import type { StreamState } from '../use-events.js'

/**
 * The stream's state in a view's toolbar (connecting, live, done...): the view's one live region for it (`status`),
 * which says each change once. While the bar's note says "reconnecting" (`noted`) it is visually hidden, still read:
 * a desk's screen showed the word twice, at the top and at the bottom.
 */
export function StreamStatus({
  state,
  noted,
  text = state,
}: {
  state: StreamState
  noted: boolean
  text?: string
}) {
  return (
    <span
      class={`stream-state st-${state}${noted ? ' sr-only' : ''}`}
      role="status"
      data-testid="stream-state"
    >
      {text}
    </span>
  )
}

/**
 * The stream's state where a reader at the bottom sees it (the bar at the screen's bottom, on a phone and at a desk:
 * the toolbar scrolls away with a long view): shown only while it reconnects, since "live" is the rule and the
 * toolbar says it. Not read by a screen reader (aria-hidden): the toolbar's `status` region already says each
 * change of state, once.
 */
export function ConnectionNote({ state }: { state: StreamState }) {
  if (!reconnecting(state)) return null
  return (
    <p class="connection-note stream-state st-reconnecting" aria-hidden="true" data-testid="bar-stream-state">
      reconnecting: new output shows once it is back
    </p>
  )
}

/** Whether the bar's note says the state (StreamStatus is then visually hidden). */
export const reconnecting = (state: StreamState) => state === 'reconnecting'
