import { signal } from '@preact/signals'
import type { paths } from '../../src/client/index.js'
import { call, client } from './api.js'

export type AgentInfo =
  paths['/v1/agents']['get']['responses'][200]['content']['application/json']['agents'][number]

/** GET /v1/agents, loaded once per page and shared by the views that pick an agent. */
export const agents = signal<{ agents: AgentInfo[]; default: string } | null>(null)

export async function loadAgents(force = false): Promise<void> {
  if (agents.value && !force) return
  agents.value = await call(client.api.GET('/v1/agents'))
}

/** What a person should do about an agent that cannot run, or null when it can. */
export function agentProblem(a: AgentInfo): string | null {
  if (!a.installed) return a.hint ?? 'not installed'
  if (!a.authenticated) return a.hint ?? 'not authenticated'
  return null
}
