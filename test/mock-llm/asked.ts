import type { Step, StepContext, StepFactory } from './types.js'

/**
 * A step that says when the model was asked for it, so a test acts while the agent waits for the answer (interrupt,
 * abort, kill, close). A guessed delay after turn.started is not enough: on a loaded machine the agent may not
 * have asked yet, and a FIFO-scripted slow step would then go to the next turn instead.
 */
export function whenAsked(step: Step): { step: StepFactory; asked: Promise<StepContext> } {
  let asked!: (ctx: StepContext) => void
  const promise = new Promise<StepContext>((resolve) => {
    asked = resolve
  })
  return {
    step: (ctx) => {
      asked(ctx)
      return step
    },
    asked: promise,
  }
}

/**
 * A step whose answer is held back until `release()`: the agent is asked, then waits for as long as the test needs
 * (to queue, steer or refuse a second turn while the first one certainly runs), however slow the machine is.
 * `asked` resolves when the request came. The held request ends without an answer if the client goes away or the
 * mock closes.
 */
export function held(step: Step): { step: StepFactory; asked: Promise<StepContext>; release(): void } {
  const { step: ask, asked } = whenAsked(step)
  let release!: () => void
  const released = new Promise<void>((resolve) => {
    release = resolve
  })
  return {
    step: async (ctx) => {
      const answer = await ask(ctx)
      await released
      return answer
    },
    asked,
    release,
  }
}
