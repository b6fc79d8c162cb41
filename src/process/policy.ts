import { AppError } from '../protocol/errors.js'

/**
 * What a request may pass to a CLI through POST /run. Agents execute commands, so anything that widens
 * their sandbox, skips approvals, reads or writes outside the workspace, or changes how the child is loaded
 * is refused unless the operator allows it (RUN_ALLOW_UNSAFE_ARGS, RUN_ALLOW_ENV).
 */

/** Flags that disable sandboxes or approvals, in every agent CLI we know (any `--dangerously-*` too). */
const bypassFlags = new Set(['--yolo', '--allow-all-tools', '--allow-all-paths', '--allow-all'])
const bypassValues: Record<string, string[]> = { '--permission-mode': ['bypassPermissions'] }

/** codex: flags that point the agent at paths outside the request's workspace. */
const codexPathFlags = new Set([
  '-C',
  '--cd',
  '--add-dir',
  '-o',
  '--output-last-message',
  '--output-schema',
  '-i',
  '--image',
])
/** codex: short flags that take a value, which clap also accepts attached (`-sX`, `-s=X`). */
const codexShortValueFlags = new Set(['-c', '-m', '-p', '-s', '-a', '-i', '-C', '-o'])
/** codex: every global flag that takes a value, so `-m exec` is not mistaken for a subcommand. */
const codexValueFlags = new Set([
  ...codexShortValueFlags,
  '--config',
  '--enable',
  '--disable',
  '--model',
  '--profile',
  '--sandbox',
  '--ask-for-approval',
  '--local-provider',
  '--image',
  '--cd',
])
const codexSandboxes = new Set(['read-only', 'workspace-write'])
/** codex: config keys a request may override with `-c`: model choice only, never providers, sandbox or commands. */
const codexConfigKeys =
  /^(model|model_reasoning_effort|model_reasoning_summary|model_verbosity|hide_agent_reasoning)$/
/** codex subcommands that run the agent non-interactively; others (sandbox, login, mcp, ...) are refused. */
const codexSubcommands = new Set(['exec', 'e', 'review', 'help'])

export function checkRunArgs(cli: string, args: string[], allowUnsafe: boolean): void {
  if (allowUnsafe) return
  const parsed = args.map(splitFlag)
  parsed.forEach(([flag, inline], i) => {
    const value = inline ?? args[i + 1] ?? ''
    if (bypassFlags.has(flag) || flag.startsWith('--dangerously'))
      refuse(args[i]!, 'it disables the sandbox or approvals')
    if (bypassValues[flag]?.includes(value)) refuse(`${flag} ${value}`, 'it disables approvals')
    if (cli === 'codex') checkCodexFlag(flag, value, args[i]!)
  })
  if (cli === 'codex') checkCodexSubcommand(parsed)
}

function checkCodexFlag(flag: string, value: string, arg: string): void {
  if (codexPathFlags.has(flag))
    refuse(arg, 'it reads or writes paths outside the workspace; use `cwd` instead')
  if ((flag === '-s' || flag === '--sandbox') && !codexSandboxes.has(value))
    refuse(`${flag} ${value}`, `only sandboxes ${[...codexSandboxes].join(', ')} are allowed`)
  if (flag === '-c' || flag === '--config') {
    const key = value.split('=')[0]?.trim() ?? ''
    if (!codexConfigKeys.test(key))
      refuse(
        `${flag} ${value}`,
        'only model settings may be overridden (providers, sandbox and commands are fixed)',
      )
  }
}

function checkCodexSubcommand(parsed: [string, string | undefined][]): void {
  let sub: string | undefined
  for (let i = 0; i < parsed.length; i++) {
    const [flag, inline] = parsed[i]!
    if (!flag.startsWith('-')) {
      sub = flag
      break
    }
    if (codexValueFlags.has(flag) && inline === undefined) i++
  }
  if (sub !== undefined && !codexSubcommands.has(sub))
    refuse(sub, `codex subcommand not allowed here; use one of: ${[...codexSubcommands].join(', ')}`)
  const info = parsed.some(([f]) => ['--version', '--help', '-V', '-h'].includes(f))
  if (sub === undefined && !info)
    refuse(
      parsed.map(([f]) => f).join(' ') || '(no arguments)',
      'codex needs `exec` here (the interactive UI needs a terminal)',
    )
}

/** `--flag=value` -> [--flag, value]; `-sX` / `-s=X` -> [-s, X] for short value flags; else [arg]. */
function splitFlag(arg: string): [string, string | undefined] {
  if (arg.startsWith('--')) {
    const eq = arg.indexOf('=')
    return eq === -1 ? [arg, undefined] : [arg.slice(0, eq), arg.slice(eq + 1)]
  }
  if (arg.startsWith('-') && arg.length > 2 && codexShortValueFlags.has(arg.slice(0, 2))) {
    const rest = arg.slice(2)
    return [arg.slice(0, 2), rest.startsWith('=') ? rest.slice(1) : rest]
  }
  return [arg, undefined]
}

/** Names that change how a child loads code or finds binaries, or that point the agent at other state. */
const refusedEnv = [
  /^LD_/,
  /^DYLD_/,
  /^NODE_OPTIONS$/,
  /^NODE_PATH$/,
  /^PATH$/,
  /^HOME$/,
  /^SHELL$/,
  /^BASH_ENV$/,
  /^ENV$/,
  /^IFS$/,
  /^PYTHON(PATH|STARTUP|HOME)$/,
  /^PERL5(OPT|LIB)$/,
  /^RUBY(OPT|LIB)$/,
  /^GIT_(SSH|SSH_COMMAND|EXEC_PATH|CONFIG.*|ASKPASS)$/,
  /^CODEX_HOME$/,
  /^CODEX_PATH$/,
]
const envName = /^[A-Za-z_][A-Za-z0-9_]*$/

export function checkRunEnv(env: Record<string, string>, allowed: readonly string[]): void {
  for (const [name, value] of Object.entries(env)) {
    if (!envName.test(name))
      throw new AppError('invalid_request', `env name "${name}" is not a valid variable name`)
    if (value.includes('\0')) throw new AppError('invalid_request', `env ${name} contains a NUL byte`)
    if (allowed.includes(name)) continue
    if (refusedEnv.some((re) => re.test(name)))
      throw new AppError(
        'forbidden_env',
        `env ${name} is not allowed: it changes how the child process loads code or where it runs; an operator can allow it with RUN_ALLOW_ENV=${name}`,
      )
  }
}

function refuse(arg: string, why: string): never {
  throw new AppError(
    'forbidden_argument',
    `argument "${arg}" is not allowed: ${why}. An operator can allow it with RUN_ALLOW_UNSAFE_ARGS=true`,
  )
}
