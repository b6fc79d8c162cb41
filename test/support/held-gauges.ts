import { parsePrometheus, sample } from './prometheus.js'

/**
 * The gauges of what a gateway holds of runs' and turns' events now, read from its GET /metrics (0 where a gauge is
 * not there): the bytes in flight to the store, those its drivers hold unread by their runs or turns, and how many
 * processes' output is not read now (held past its bound).
 */
export async function heldNow(gatewayUrl: string) {
  const families = parsePrometheus(await (await fetch(`${gatewayUrl}/metrics`)).text())
  return {
    inFlight: sample(families, 'agent_gateway_events_in_flight_bytes'),
    queued: sample(families, 'agent_gateway_agent_output_queued_bytes'),
    paused: sample(families, 'agent_gateway_agent_output_paused'),
  }
}
