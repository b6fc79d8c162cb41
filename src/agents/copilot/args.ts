import type { SandboxMode } from '../../protocol/policies.js'
import { permissionArgs } from './permissions.js'

export interface CopilotInvocation {
  prompt: string
  model?: string
  sandbox: SandboxMode
  images?: string[]
  /** `new`: create the session with this id (`--session-id`); `resume`: continue it (`--resume`). */
  session?: { id: string; mode: 'new' | 'resume' }
}

/**
 * What every copilot process gets (`copilot -p` and `copilot --acp`): the pinned version (no update), no client
 * telemetry, no `ask_user` tool (nobody answers a question; approvals are another channel), no color, and the
 * names of the keys copilot must keep out of what it starts.
 */
export const copilotCommonFlags: readonly string[] = [
  '--no-auto-update',
  '--disable-client-telemetry',
  '--no-ask-user',
  '--no-color',
  // The provider key reaches copilot's env; keep it out of the shells and MCP servers it starts.
  '--secret-env-vars=COPILOT_PROVIDER_API_KEY,COPILOT_GITHUB_TOKEN,GH_TOKEN,GITHUB_TOKEN',
]

/**
 * The argv after the binary. Flags use the `--flag=value` form: copilot's list flags (--allow-tool, ...)
 * take several values and would swallow a following argument. The prompt is one argv entry, so its size is
 * bounded by the OS (about 128 KB on Linux).
 */
export function copilotArgs(inv: CopilotInvocation): string[] {
  const args = [`--prompt=${inv.prompt}`, '--output-format=json', ...copilotCommonFlags]
  if (inv.model) args.push(`--model=${inv.model}`)
  args.push(...permissionArgs(inv.sandbox))
  for (const image of inv.images ?? []) args.push(`--attachment=${image}`)
  if (inv.session)
    args.push(inv.session.mode === 'new' ? `--session-id=${inv.session.id}` : `--resume=${inv.session.id}`)
  return args
}
