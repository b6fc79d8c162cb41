import type { MockLlm, StepContext } from '../../mock-llm/index.js'

/** What a stress turn asks the mock model for; the prompt names it, so answers do not depend on request order. */
export type TurnKind = 'plain' | 'slow' | 'command'

export const promptOf = (kind: TurnKind, n: number) => `stress ${kind} turn ${n}`

/**
 * Answers every model request from its prompt: plain text, a slow text (the answer waits `slowMs`), or a shell
 * command (an approval when the session asks for them) and then a text once its output came back.
 */
export function installStressSteps(mock: MockLlm, slowMs: number): void {
  mock.setDefault((ctx: StepContext) => {
    const text = ctx.lastUserText
    if (text.includes('stress slow')) return { kind: 'text', text: 'slow answer', delayMs: slowMs }
    if (text.includes('stress command') && ctx.lastToolOutput === undefined)
      return { kind: 'exec_command', cmd: 'echo stress >> stress.txt' }
    if (text.includes('stress command')) return { kind: 'text', text: 'command answered' }
    return { kind: 'text', text: 'plain answer' }
  })
}
