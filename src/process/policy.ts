import path from 'node:path'
import { refuse } from './arg-grammar.js'
import { checkClaudeArgs } from './claude-grammar.js'
import { type CommandSpec, codexGrammar, type OptionSpec } from './codex-grammar.js'
import { checkCopilotArgs } from './copilot-grammar.js'
import { checkGeminiArgs } from './gemini-grammar.js'

/**
 * What a request may pass to a CLI through POST /run (and the `cli` agent of /v1/runs). Agents execute
 * commands, so anything that widens their sandbox, skips approvals, reads or writes outside the workspace,
 * reaches other state, or changes how the child is loaded is refused unless the operator allows it
 * (RUN_ALLOW_UNSAFE_ARGS, RUN_ALLOW_ENV). The pinned CLIs' arguments are parsed with their real grammars
 * (codex-grammar.ts, claude-grammar.ts, gemini-grammar.ts, copilot-grammar.ts) and allowlisted; another program
 * in CLI_LIST (the operator's own) gets the bypass checks below. These are the request's own arguments: what the
 * gateway puts before them (codex's provider `-c`s, claude's `--setting-sources user --strict-mcp-config`, gemini's
 * `--skip-trust --allowed-mcp-server-names <no server>`: agents/cli/) is added after this check.
 */
export { checkRunEnv } from './env-policy.js'

/** Flags that disable sandboxes or approvals, in every agent CLI we know (any `--dangerously-*` too). */
const bypassFlags = new Set(['--yolo', '--allow-all-tools', '--allow-all-paths', '--allow-all'])
const bypassValues: Record<string, string[]> = { '--permission-mode': ['bypassPermissions'] }

/** The pinned CLIs by name (a path to one, `/usr/local/bin/gemini`, is read with its grammar too). */
const grammars: Record<string, (args: readonly string[], opts: RunArgsOptions) => void> = {
  claude: (args, opts) => checkClaudeArgs(args, opts.claudeWorkspaceSettings === true),
  gemini: checkGeminiArgs,
  copilot: checkCopilotArgs,
}

/** `--permissionMode` -> `--permission-mode` (yargs and commander accept either spelling). */
const kebab = (flag: string) =>
  flag.startsWith('--') ? flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`) : flag

const codexSandboxes = new Set(['read-only', 'workspace-write'])
/** codex: config keys a request may override with `-c`: model choice only, never providers, sandbox or commands. */
const codexConfigKeys =
  /^(model|model_reasoning_effort|model_reasoning_summary|model_verbosity|hide_agent_reasoning)$/

/** The settings the grammars read: CLAUDE_WORKSPACE_SETTINGS (claude's `--setting-sources` beyond `user`). */
export interface RunArgsOptions {
  claudeWorkspaceSettings?: boolean
}

export function checkRunArgs(
  cli: string,
  args: string[],
  allowUnsafe: boolean,
  opts: RunArgsOptions = {},
): void {
  if (allowUnsafe) return
  if (cli === 'codex') {
    checkCodexArgs(args)
    return
  }
  const grammar = grammars[path.basename(cli)]
  if (grammar) {
    grammar(args, opts)
    return
  }
  args.forEach((arg, i) => {
    const [spelt, inline] = splitLong(arg)
    const flag = kebab(spelt)
    const value = inline ?? args[i + 1] ?? ''
    if (bypassFlags.has(flag) || flag.startsWith('--dangerously'))
      refuse(arg, 'it disables the sandbox or approvals')
    if (bypassValues[flag]?.includes(value)) refuse(`${flag} ${value}`, 'it disables approvals')
  })
}

/**
 * Walks codex's argv as clap does: options of the current command (value-taking ones consume their value,
 * attached or not), the first positional naming a subcommand descends into it, `--` ends options.
 */
export function checkCodexArgs(args: readonly string[]): void {
  let command: CommandSpec = codexGrammar
  let path = 'codex'
  let ranSomething = false
  let info = false
  let positionals = 0
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '--') {
      if (!command.prompt) refuse(arg, 'codex needs `exec` here (the interactive UI needs a terminal)')
      break
    }
    if (arg.startsWith('-') && arg !== '-') {
      const { name, spec, inline } = lookupOption(command, path, arg)
      let value = inline
      if (spec.value && value === undefined) {
        value = args[++i]
        if (value === undefined) refuse(arg, `${name} needs a value`)
      }
      checkVerdict(name, spec, value ?? '', arg)
      if (name === '--help' || name === '--version') info = true
      continue
    }
    const sub = positionals === 0 ? command.subcommands[arg] : undefined
    if (sub !== undefined) {
      if (typeof sub === 'string') refuse(arg, sub)
      command = sub
      path = `${path} ${arg}`
      ranSomething = true
      continue
    }
    if (!command.prompt) refuse(arg, 'codex needs `exec` here (the interactive UI needs a terminal)')
    positionals++
  }
  if (!ranSomething && !info)
    refuse(
      args.join(' ') || '(no arguments)',
      'codex needs `exec` here (the interactive UI needs a terminal)',
    )
}

function lookupOption(
  command: CommandSpec,
  path: string,
  arg: string,
): { name: string; spec: OptionSpec; inline: string | undefined } {
  if (arg.startsWith('--')) {
    const [name, inline] = splitLong(arg)
    const spec = command.options[name]
    if (!spec) refuse(arg, `\`${path}\` has no option ${name} that /run allows`)
    if (!spec.value && inline !== undefined) refuse(arg, `${name} takes no value`)
    return { name, spec, inline }
  }
  // Short options: `-m X`, `-mX`, `-m=X`; clap also bundles boolean ones (`-hV`).
  const long = command.short[arg.slice(0, 2)]
  const spec = long ? command.options[long] : undefined
  if (!long || !spec) refuse(arg, `\`${path}\` has no option ${arg.slice(0, 2)} that /run allows`)
  if (arg.length === 2) return { name: long, spec, inline: undefined }
  if (spec.value) {
    const rest = arg.slice(2)
    return { name: long, spec, inline: rest.startsWith('=') ? rest.slice(1) : rest }
  }
  for (const ch of arg.slice(2)) {
    const other = command.short[`-${ch}`]
    const otherSpec = other ? command.options[other] : undefined
    if (!other || !otherSpec || otherSpec.value)
      refuse(arg, 'bundled short options are allowed only for -h and -V')
    checkVerdict(other, otherSpec, '', arg)
  }
  return { name: long, spec, inline: undefined }
}

function checkVerdict(name: string, spec: OptionSpec, value: string, arg: string): void {
  switch (spec.verdict) {
    case 'ok':
      return
    case 'sandbox':
      if (!codexSandboxes.has(value))
        refuse(`${name} ${value}`, `only sandboxes ${[...codexSandboxes].join(', ')} are allowed`)
      return
    case 'model-config': {
      const key = value.split('=')[0]?.trim() ?? ''
      if (!value.includes('=') || !codexConfigKeys.test(key))
        refuse(
          `${name} ${value}`,
          'only model settings may be overridden (providers, sandbox, features and commands are fixed)',
        )
      return
    }
    default:
      refuse(arg, spec.verdict)
  }
}

/** `--flag=value` -> [--flag, value]; anything else -> [arg]. */
function splitLong(arg: string): [string, string | undefined] {
  if (!arg.startsWith('--')) return [arg, undefined]
  const eq = arg.indexOf('=')
  return eq === -1 ? [arg, undefined] : [arg.slice(0, eq), arg.slice(eq + 1)]
}

/**
 * Whether codex's argv names no subcommand (and asks for no --help or --version), so that codex would start its
 * interactive UI, which cannot run without a terminal. Options are skipped with their values as codex's grammar
 * reads them; the first positional decides.
 */
export function codexStartsInteractive(args: readonly string[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '--') return true
    if (arg.startsWith('-') && arg !== '-') {
      const [spelt, inline] = splitLong(arg)
      const name = spelt.startsWith('--') ? spelt : codexGrammar.short[spelt.slice(0, 2)]
      if (name === '--help' || name === '--version') return false
      const takesValue = name ? codexGrammar.options[name]?.value === true : false
      if (takesValue && inline === undefined && (!spelt.startsWith('--') ? arg.length === 2 : true)) i++
      continue
    }
    return codexGrammar.subcommands[arg] === undefined
  }
  return true
}
