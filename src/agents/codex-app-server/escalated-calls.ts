import { z } from 'zod'
import { callInRollout } from './rollout-calls.js'

/**
 * Which of a thread's command calls the model asked to run outside the sandbox. codex's approval request for such
 * a command (`sandbox_permissions: "require_escalated"`, or `with_additional_permissions`) is the same as for a
 * sandboxed one (codex 0.171), and under `untrusted` codex asks it (its granular policy that refuses them would
 * drop `untrusted`'s questions about sandboxed commands: held-sandbox.ts). The model's call itself says it: a
 * thread started with `experimentalRawEvents` sends each response item (`rawResponseItem/completed`) before codex
 * runs the call, and a command approval's `itemId` is the call's `call_id`. A thread resumed in a new app-server
 * (the flag is thread/start's only) sends none: a call not seen is looked up in the thread's rollout file, where
 * codex recorded it before it asked (rollout-calls.ts); one found nowhere stays unknown.
 */
export class EscalatedCalls {
  private readonly escalated = new Set<string>()
  private readonly sandboxed = new Set<string>()

  /** Takes a `rawResponseItem/completed` notification's params; anything but a function call is ignored. */
  saw(params: unknown): void {
    const parsed = rawFunctionCall.safeParse(params)
    if (!parsed.success) return
    const { call_id: callId, arguments: args } = parsed.data.item
    ;(asksOutsideSandbox(args) ? this.escalated : this.sandboxed).add(callId)
  }

  /** `escalated`: the model asked to run call `itemId` outside the sandbox; `unknown`: its call was not seen. */
  of(itemId: string | undefined): 'escalated' | 'sandboxed' | 'unknown' {
    if (itemId === undefined) return 'unknown'
    return this.escalated.has(itemId) ? 'escalated' : this.sandboxed.has(itemId) ? 'sandboxed' : 'unknown'
  }

  /** `of`, and for a call not seen, what the thread's rollout file (`rollout`) recorded of it. */
  async find(
    itemId: string | undefined,
    rollout: string | undefined,
  ): Promise<'escalated' | 'sandboxed' | 'unknown'> {
    const seen = this.of(itemId)
    if (seen !== 'unknown' || itemId === undefined || rollout === undefined) return seen
    const args = await callInRollout(rollout, itemId)
    if (args === undefined) return 'unknown'
    return asksOutsideSandbox(args) ? 'escalated' : 'sandboxed'
  }

  /** A turn's calls are not asked about after it: a new turn starts with none. */
  clear(): void {
    this.escalated.clear()
    this.sandboxed.clear()
  }
}

export const rawResponseItemMethod = 'rawResponseItem/completed'

/** Said first in the reason of a command approval whose call the gateway did not see. */
export const unseenCallWarning =
  "agent-gateway could not see whether the model asked to run this command outside the sandbox: accepted, it may run with the gateway's rights."

const rawFunctionCall = z.looseObject({
  item: z.looseObject({ type: z.literal('function_call'), call_id: z.string(), arguments: z.string() }),
})

/** Whether a call's arguments ask for more than the sandbox (any `sandbox_permissions` but `use_default`). */
function asksOutsideSandbox(args: string): boolean {
  let parsed: unknown
  try {
    parsed = JSON.parse(args)
  } catch {
    // codex cannot run what it cannot parse either; an unreadable call is not a sandboxed one
    return true
  }
  if (typeof parsed !== 'object' || parsed === null) return true
  const asked = (parsed as { sandbox_permissions?: unknown }).sandbox_permissions
  return asked !== undefined && asked !== null && asked !== 'use_default'
}
