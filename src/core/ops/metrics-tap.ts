import type { StoredEvent } from '../../protocol/events.js'
import type { Store } from '../../store/store.js'
import type { GatewayMetrics } from './metrics.js'

/** Feeds every stored event to the metrics; run outcomes are labelled with the run's agent (read from the store). */
export function metricsTap(metrics: GatewayMetrics, store: Store): (ev: StoredEvent) => void {
  return (ev) => {
    if (ev.runId && (ev.type === 'run.queued' || ev.type === 'run.completed')) {
      void store
        .getRun(ev.runId)
        .then((run) => metrics.observe(ev, run))
        .catch(() => metrics.observe(ev))
      return
    }
    metrics.observe(ev)
  }
}
