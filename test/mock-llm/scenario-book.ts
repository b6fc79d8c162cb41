import type { TurnInfo } from './formats/index.js'
import { checkStepSource } from './step-schema.js'
import type { Scenario, StepSource } from './types.js'

const initialDefault: StepSource = { kind: 'text', text: 'OK' }

interface Conversation {
  steps: readonly StepSource[]
  next: number
}

function matches(match: Scenario['match'], text: string): boolean {
  if (match === undefined) return true
  if (typeof match === 'string') return text.includes(match)
  return text.search(match) !== -1
}

/**
 * Decides which step answers a model request. Order:
 * 1. a tool follow-up continues its conversation's scenario while it has steps left;
 * 2. a new turn whose last user message matches a scenario starts it (first registered wins);
 * 3. a new turn of a conversation with scenario steps left continues them;
 * 4. the FIFO script queue;
 * 5. the default step.
 */
export class ScenarioBook {
  private queue: StepSource[] = []
  private scenarios: Scenario[] = []
  private conversations = new Map<string, Conversation>()
  private fallback: StepSource = initialDefault

  script(steps: StepSource[]): void {
    this.queue.push(...steps.map(checkStepSource))
  }

  add(scenario: Scenario): void {
    this.scenarios.push({ ...scenario, steps: scenario.steps.map(checkStepSource) })
  }

  setDefault(step: StepSource): void {
    this.fallback = checkStepSource(step)
  }

  reset(): void {
    this.queue = []
    this.scenarios = []
    this.conversations.clear()
    this.fallback = initialDefault
  }

  pick(turn: TurnInfo): StepSource {
    const active = this.conversations.get(turn.conversationKey)
    if (turn.isFollowUp && active) {
      const step = this.advance(active)
      if (step) return step
    }
    if (!turn.isFollowUp) {
      const scenario = this.scenarios.find((candidate) => matches(candidate.match, turn.lastUserText))
      if (scenario) {
        const started: Conversation = { steps: scenario.steps, next: 0 }
        this.conversations.set(turn.conversationKey, started)
        const step = this.advance(started)
        if (step) return step
      } else if (active) {
        const step = this.advance(active)
        if (step) return step
      }
    }
    return this.queue.shift() ?? this.fallback
  }

  private advance(conversation: Conversation): StepSource | undefined {
    const step = conversation.steps[conversation.next]
    if (step !== undefined) conversation.next += 1
    return step
  }
}
