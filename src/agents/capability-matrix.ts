import { type AgentDriver, allCapabilities } from './driver.js'

/** The README's capability matrix, generated from what each driver declares (a test keeps it in sync). */
export function renderCapabilityMatrix(drivers: readonly AgentDriver[]): string {
  const columns = allCapabilities
  const rows = drivers.map(
    (d) => `| \`${d.id}\` | ${columns.map((c) => (d.capabilities[c] ? 'yes' : '-')).join(' | ')} |`,
  )
  return [`| agent | ${columns.join(' | ')} |`, `|---|${columns.map(() => '---').join('|')}|`, ...rows].join(
    '\n',
  )
}

export const capabilityMatrixMarkers = ['<!-- capabilities:start -->', '<!-- capabilities:end -->'] as const
