import path from 'node:path'
import { AppError } from '../protocol/errors.js'
import { type CommandSpec, codexGrammar, type OptionSpec } from './codex-grammar.js'

/**
 * What a request may pass to a CLI through POST /run (and the `cli` agent of /v1/runs). Agents execute
 * commands, so anything that widens their sandbox, skips approvals, reads or writes outside the workspace,
 * reaches other state, or changes how the child is loaded is refused unless the operator allows it
 * (RUN_ALLOW_UNSAFE_ARGS, RUN_ALLOW_ENV). codex's arguments are parsed with its real grammar
 * (codex-grammar.ts) and allowlisted; other CLIs get the bypass checks below.
 */
export { checkRunEnv } from './env-policy.js'

/** Flags that disable sandboxes or approvals, in every agent CLI we know (any `--dangerously-*` too). */
const bypassFlags = new Set(['--yolo', '--allow-all-tools', '--allow-all-paths', '--allow-all'])
const bypassValues: Record<string, string[]> = { '--permission-mode': ['bypassPermissions'] }

/**
 * Per pinned CLI, the other spellings of the same bypass: Gemini CLI's `-y` (alone or bundled, `-sy`) and
 * `--approval-mode yolo` (yargs also reads `--approvalMode`); options that let named tools, a shell among them,
 * run without asking (Claude Code's `--allowedTools`, Gemini CLI's `--allowed-tools` and policy files, copilot's
 * `--allow-tool`); Claude Code's `--settings`, which can set `permissions.defaultMode` or allow rules.
 */
const cliBypass: Record<string, { short?: string; flags: string[]; values: Record<string, string[]> }> = {
  gemini: {
    short: 'y',
    flags: ['--allowed-tools', '--policy', '--admin-policy'],
    values: { '--approval-mode': ['yolo'] },
  },
  claude: { flags: ['--allowed-tools', '--settings'], values: {} },
  copilot: { flags: ['--allow-tool'], values: {} },
}

/** `--allowedTools` -> `--allowed-tools` (yargs and commander accept either spelling). */
const kebab = (flag: string) =>
  flag.startsWith('--') ? flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`) : flag

const codexSandboxes = new Set(['read-only', 'workspace-write'])
/** codex: config keys a request may override with `-c`: model choice only, never providers, sandbox or commands. */
const codexConfigKeys =
  /^(model|model_reasoning_effort|model_reasoning_summary|model_verbosity|hide_agent_reasoning)$/

export function checkRunArgs(cli: string, args: string[], allowUnsafe: boolean): void {
  if (allowUnsafe) return
  if (cli === 'codex') {
    checkCodexArgs(args)
    return
  }
  const own = cliBypass[path.basename(cli)]
  args.forEach((arg, i) => {
    const [spelt, inline] = splitLong(arg)
    const flag = kebab(spelt)
    const value = inline ?? args[i + 1] ?? ''
    if (bypassFlags.has(flag) || flag.startsWith('--dangerously'))
      refuse(arg, 'it disables the sandbox or approvals')
    if (bypassValues[flag]?.includes(value)) refuse(`${flag} ${value}`, 'it disables approvals')
    if (!own) return
    if (own.short && /^-[^-]/.test(arg) && arg.slice(1).includes(own.short))
      refuse(arg, 'it disables the sandbox or approvals')
    if (own.flags.includes(flag)) refuse(arg, 'it lets commands run without approval')
    if (own.values[flag]?.includes(value)) refuse(`${flag} ${value}`, 'it disables approvals')
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

function refuse(arg: string, why: string): never {
  throw new AppError(
    'forbidden_argument',
    `argument "${arg}" is not allowed: ${why}. An operator can allow it with RUN_ALLOW_UNSAFE_ARGS=true`,
    { argument: arg },
  )
}
