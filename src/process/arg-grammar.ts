import { AppError } from '../protocol/errors.js'

/**
 * What the grammars of POST /run share (codex-grammar.ts, claude-grammar.ts, gemini-grammar.ts,
 * copilot-grammar.ts): how many values an option takes, what /run may do with it, the reasons, the refusal.
 */

/** `none`: a flag; `one`: exactly one value; `optional`: one if the next argument is no option; `many`: a list. */
export type Arity = 'none' | 'one' | 'optional' | 'many'

export interface CliOption {
  arity: Arity
  /** `ok` passes (with `values`: only those values); a string refuses with that reason. */
  verdict: 'ok' | string
  values?: readonly string[]
  /** Why a value not in `values` is refused (default: which values it takes). */
  why?: string
}

export const ok = (arity: Arity, values?: readonly string[]): CliOption =>
  values ? { arity, verdict: 'ok', values } : { arity, verdict: 'ok' }
export const no = (why: string, arity: Arity = 'none'): CliOption => ({ arity, verdict: why })

export const paths = 'it reads or writes paths outside the workspace; use `cwd` instead'
export const otherState =
  'it reaches state beyond this run (features, profiles, stored trust, rules or config)'
export const provider = 'it changes the model provider (providers are the operator’s)'
export const bypass = 'it disables the sandbox or approvals'
export const otherSession = 'it continues or copies another session; use /v1/sessions for conversations'
export const extensions = 'it loads MCP servers, plugins, extensions, hooks or agents (the operator’s)'
export const workspaceConfig = 'it trusts the workspace’s own agent configuration (hooks, MCP servers)'
export const tools = 'it chooses the tools (the operator’s); take tools away with a deny option instead'
export const interactive = 'it starts the interactive UI, which needs a terminal'
export const remote = 'it reaches a remote session, an app or another server'
export const worktree = 'it creates a git worktree outside the workspace'

/** An argument a CLI reads as an option (`-` alone and anything without a leading dash are not). */
export const optionLike = (arg: string): boolean => arg.length > 1 && arg.startsWith('-')

/** Checks one option's verdict and values; `shown` is the argument as sent. */
export function checkOption(
  cli: string,
  name: string,
  spec: CliOption | undefined,
  values: readonly string[],
  shown: string,
): void {
  if (!spec) refuse(shown, `${cli} has no option ${name} that /run allows`)
  if (spec.verdict !== 'ok') refuse(shown, spec.verdict)
  if (!spec.values) return
  for (const value of values)
    if (!spec.values.includes(value))
      refuse(`${name} ${value}`, spec.why ?? `${name} takes only ${spec.values.join(', ')} here`)
}

export function refuse(arg: string, why: string): never {
  throw new AppError(
    'forbidden_argument',
    `argument "${arg}" is not allowed: ${why}. An operator can allow it with RUN_ALLOW_UNSAFE_ARGS=true`,
    { argument: arg },
  )
}
