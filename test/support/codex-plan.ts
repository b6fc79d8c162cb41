import { appendFileSync } from 'node:fs'
import path from 'node:path'

/** Turns on codex's plan tool (update_plan) in `codexHome`: this codex offers it only when asked to. */
export function enablePlanTool(codexHome: string): void {
  appendFileSync(path.join(codexHome, 'config.toml'), '\n[tools.update_plan]\nenabled = true\n')
}

/** A two-step plan for the mock's update_plan: the first step `first`, the second pending until it is completed. */
export const twoStepPlan = (first: 'in_progress' | 'completed') => [
  { step: 'read the code', status: first },
  {
    step: 'write the fix',
    status: first === 'completed' ? ('in_progress' as const) : ('pending' as const),
  },
]
