import { z } from 'zod'
import { agentDescriptors } from '../agents/index.js'
import { containerSettings } from './container-settings.js'
import { serverSettings } from './server-settings.js'
import { type SettingDoc, settingDocOf } from './setting-kinds.js'

/**
 * Every setting of agent-gateway: the server's own, then each driver's (from its descriptor, in the order of
 * src/agents/index.ts), then the container runner's. The README's settings table is generated from the documentation each setting carries.
 */
type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void
  ? I
  : never
type AgentSettingsShape = UnionToIntersection<(typeof agentDescriptors)[number]['settings']['shape']>

export const envSchema = z.object({
  ...serverSettings.shape,
  ...(Object.assign({}, ...agentDescriptors.map((d) => d.settings.shape)) as AgentSettingsShape),
  ...containerSettings,
})

export type RawSettings = z.infer<typeof envSchema>

/** One line of documentation per setting, in the README's order. */
export const settingDocs = Object.fromEntries(
  Object.entries(envSchema.shape).map(([name, schema]) => {
    const doc = settingDocOf(schema)
    if (!doc) throw new Error(`setting ${name} has no documentation: declare it with setting()`)
    return [name, { default: doc.shownDefault, description: doc.description }]
  }),
) as Record<keyof RawSettings, { default: string; description: string }>

export type { SettingDoc }
