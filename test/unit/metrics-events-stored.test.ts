import { describe, expect, it } from 'vitest'
import { GatewayMetrics, type MetricsSources } from '../../src/core/ops/metrics.js'
import type { StoredEvent } from '../../src/protocol/events.js'

/**
 * `agent_gateway_events_total`: GatewayMetrics counts the events stored by type itself and the counter shows
 * those totals when it is read (its `collect`), not moved per event; each read shows the totals, never adds them
 * again.
 */

// only the events counter is read here: nothing else of the sources is asked
const sources = {} as MetricsSources

const event = (type: string, seq: number) =>
  ({ type, seq, at: '2026-01-01T00:00:00.000Z', sessionId: 'ses_1' }) as unknown as StoredEvent

async function eventsTotal(metrics: GatewayMetrics): Promise<Record<string, number>> {
  const text = await metrics.registry.getSingleMetricAsString('agent_gateway_events_total')
  return Object.fromEntries(
    [...text.matchAll(/^agent_gateway_events_total\{type="([^"]+)"\} (\d+)$/gm)].map((m) => [
      m[1],
      Number(m[2]),
    ]),
  )
}

describe('the events-stored counter', () => {
  it('shows the totals by type at each read, however often it is read', async () => {
    const metrics = new GatewayMetrics(sources)
    metrics.observe(event('turn.started', 1))
    metrics.observe(event('item.completed', 2))
    metrics.observe(event('item.completed', 3))
    expect(await eventsTotal(metrics)).toEqual({ 'turn.started': 1, 'item.completed': 2 })
    expect(await eventsTotal(metrics)).toEqual({ 'turn.started': 1, 'item.completed': 2 })
    metrics.observe(event('turn.completed', 4))
    metrics.observe(event('item.completed', 5))
    expect(await eventsTotal(metrics)).toEqual({
      'turn.started': 1,
      'item.completed': 3,
      'turn.completed': 1,
    })
  })
})
