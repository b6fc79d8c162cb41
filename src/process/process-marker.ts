import { randomUUID } from 'node:crypto'

/**
 * The variable that marks an agent program and everything it starts (marked-processes.ts sweeps by it): a
 * unique value per program, inherited by its descendants. Drivers make the value when they must also hand it
 * to the program's own command policy (codex's `shell_environment_policy.set`), so its commands keep it.
 */
export const markerVariable = 'AGENT_GATEWAY_APP_SERVER'

export function newMarker(): string {
  return randomUUID()
}
