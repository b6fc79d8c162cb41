import { z } from 'zod'
import type { AgentDriver } from '../agents/driver.js'
import { isSessionDriver, type SessionDriver } from '../agents/session.js'
import type { Config } from '../config/load.js'
import { acceptedApprovalPolicies } from './approval-policy.js'

/**
 * What GET /v1/agents says of one driver: its probe, its capabilities, the approval policies its sessions accept
 * and the skills it offers.
 */
export async function describeAgent(driver: AgentDriver) {
  const status = await driver.probe()
  const ready = status.installed && status.authenticated
  return {
    id: driver.id,
    installed: status.installed,
    version: status.version,
    authenticated: status.authenticated,
    hint: status.hint,
    capabilities: driver.capabilities,
    approvalPolicies: [...acceptedApprovalPolicies(driver)],
    skills: ready && isSessionDriver(driver) ? await listSkills(driver) : null,
  }
}

/** The models an agent offers: MODEL_LIST when it is set, else the agent's own list (codex model/list). */
export async function agentModels(driver: AgentDriver, config: Config): Promise<string[]> {
  if (config.modelListConfigured || !isSessionDriver(driver) || !driver.listModels) return config.MODEL_LIST
  const models = await driver.listModels().catch(() => config.MODEL_LIST)
  return models.length ? models : config.MODEL_LIST
}

/** Skill names from the agent (codex `skills/list` answers `{data: [{skills: [{name}]}]}` per cwd). */
async function listSkills(driver: SessionDriver): Promise<string[] | null> {
  const parsed = skillsList.safeParse(await driver.call('skills/list', {}).catch(() => null))
  if (!parsed.success) return null
  return parsed.data.data.flatMap((entry) => entry.skills.map((skill) => skill.name))
}

const skillsList = z.object({
  data: z.array(z.looseObject({ skills: z.array(z.looseObject({ name: z.string() })) })),
})
