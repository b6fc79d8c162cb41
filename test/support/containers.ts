import { execFileSync } from 'node:child_process'
import { engineEnv, testEngine } from './container-image.js'

/** Containers (running or not) carrying a gateway instance label; every test must leave none. */
export async function gatewayContainers(instance: string): Promise<string[]> {
  const out = execFileSync(
    testEngine,
    ['ps', '--all', '--filter', `label=agent-gateway.instance=${instance}`, '--format', '{{.Names}}'],
    { env: engineEnv(), encoding: 'utf8' },
  )
  return out.split('\n').filter(Boolean)
}

/** Every container of every gateway instance (label agent-gateway=1). */
export async function allGatewayContainers(): Promise<string[]> {
  const out = execFileSync(
    testEngine,
    ['ps', '--all', '--filter', 'label=agent-gateway=1', '--format', '{{.Names}}'],
    { env: engineEnv(), encoding: 'utf8' },
  )
  return out.split('\n').filter(Boolean)
}

export async function removeContainers(names: string[]): Promise<void> {
  if (names.length > 0)
    execFileSync(testEngine, ['rm', '--force', ...names], { env: engineEnv(), stdio: 'pipe' })
}
