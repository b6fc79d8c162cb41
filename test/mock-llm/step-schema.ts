import { z } from 'zod'
import type { Step, StepSource } from './types.js'

const timing = {
  delayMs: z.number().nonnegative().optional(),
  chunkDelayMs: z.number().nonnegative().optional(),
}

export const stepSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('text'), text: z.string(), deltas: z.boolean().optional(), ...timing }),
  z.object({
    kind: z.literal('exec_command'),
    cmd: z.string().min(1),
    workdir: z.string().optional(),
    yieldTimeMs: z.number().int().positive().optional(),
    sandboxPermissions: z.enum(['use_default', 'require_escalated']).optional(),
    justification: z.string().optional(),
    tool: z.enum(['exec_command', 'shell_command']).optional(),
    shell: z.string().min(1).optional(),
    login: z.boolean().optional(),
    ...timing,
  }),
  z.object({ kind: z.literal('apply_patch'), patch: z.string().min(1), ...timing }),
  z.object({
    kind: z.literal('update_plan'),
    plan: z.array(z.object({ step: z.string(), status: z.enum(['pending', 'in_progress', 'completed']) })),
    explanation: z.string().optional(),
    ...timing,
  }),
  z.object({
    kind: z.literal('tool_use'),
    name: z.string().min(1),
    input: z.record(z.string(), z.unknown()),
    ...timing,
  }),
  z.object({
    kind: z.literal('http_error'),
    status: z.number().int().min(400).max(599),
    body: z.string().optional(),
    ...timing,
  }),
  z.object({ kind: z.literal('drop'), ...timing }),
])

/** Throws a readable error for a malformed step (typos in hand-written scripts surface early). */
export function checkStep(step: Step): Step {
  const parsed = stepSchema.safeParse(step)
  if (!parsed.success)
    throw new Error(`mock-llm: invalid step ${JSON.stringify(step)}: ${parsed.error.message}`)
  return step
}

export function checkStepSource(source: StepSource): StepSource {
  return typeof source === 'function' ? source : checkStep(source)
}
