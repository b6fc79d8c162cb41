import { AppError } from '../core/errors.js'

/**
 * What a request may pass to a CLI through POST /run. Agents execute commands, so anything that widens
 * their sandbox, skips approvals, reads or writes outside the workspace, or changes how the child is loaded
 * is refused unless the operator allows it (RUN_ALLOW_UNSAFE_ARGS, RUN_ALLOW_ENV).
 */

/** Flags that disable sandboxes or approvals, in every agent CLI we know. */
const bypassFlags = new Set([
  '--dangerously-bypass-approvals-and-sandbox',
  '--dangerously-bypass-hook-trust',
  '--dangerously-skip-permissions',
  '--yolo',
  '--allow-all-tools',
  '--allow-all-paths',
  '--allow-all',
])
/** Flags that point the agent at paths outside the request's workspace. */
const pathFlags = new Set([
  '-C',
  '--cd',
  '--add-dir',
  '-o',
  '--output-last-message',
  '--output-schema',
  '-i',
  '--image',
])
const sandboxFlags = new Set(['-s', '--sandbox'])
const configFlags = new Set(['-c', '--config'])
/** Config keys a request may override with `-c`: model choice only, never providers, sandbox or commands. */
const allowedConfigKeys =
  /^(model|model_reasoning_effort|model_reasoning_summary|model_verbosity|hide_agent_reasoning)$/
/** codex subcommands that run the agent non-interactively; others (sandbox, login, mcp, ...) are refused. */
const codexSubcommands = new Set(['exec', 'e', 'review', 'help'])

export function checkRunArgs(cli: string, args: string[], allowUnsafe: boolean): void {
  if (allowUnsafe) return
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    const [flag, inlineValue] = splitFlag(arg)
    const value = () => inlineValue ?? args[i + 1] ?? ''
    if (bypassFlags.has(flag) || flag.startsWith('--dangerously'))
      refuse(arg, 'it disables the sandbox or approvals')
    if (pathFlags.has(flag)) refuse(arg, 'it reads or writes paths outside the workspace; use `cwd` instead')
    if (sandboxFlags.has(flag) && value() === 'danger-full-access')
      refuse(`${arg} ${value()}`, 'it disables the sandbox')
    if (flag === '--permission-mode' && value() === 'bypassPermissions') refuse(arg, 'it disables approvals')
    if (configFlags.has(flag)) {
      const key = value().split('=')[0]?.trim() ?? ''
      if (!allowedConfigKeys.test(key))
        refuse(
          `${flag} ${value()}`,
          'only model settings may be overridden (providers, sandbox and commands are fixed)',
        )
    }
  }
  if (cli === 'codex') {
    const sub = firstPositional(args)
    if (sub !== undefined && !codexSubcommands.has(sub))
      refuse(sub, `codex subcommand not allowed here; use one of: ${[...codexSubcommands].join(', ')}`)
    if (
      sub === undefined &&
      !args.some((a) => a === '--version' || a === '--help' || a === '-V' || a === '-h')
    )
      refuse(
        args.join(' ') || '(no arguments)',
        'codex needs `exec` here (the interactive UI needs a terminal)',
      )
  }
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
  for (const name of Object.keys(env)) {
    if (!envName.test(name))
      throw new AppError('invalid_request', `env name "${name}" is not a valid variable name`)
    if (allowed.includes(name)) continue
    if (refusedEnv.some((re) => re.test(name)))
      throw new AppError(
        'forbidden_env',
        `env ${name} is not allowed: it changes how the child process loads code or where it runs; an operator can allow it with RUN_ALLOW_ENV=${name}`,
      )
  }
}

function splitFlag(arg: string): [string, string | undefined] {
  if (!arg.startsWith('--')) return [arg, undefined]
  const eq = arg.indexOf('=')
  return eq === -1 ? [arg, undefined] : [arg.slice(0, eq), arg.slice(eq + 1)]
}

/** codex's global flags that take a value, so `-m exec` is not mistaken for a subcommand. */
const codexValueFlags = new Set([
  '-c',
  '--config',
  '--enable',
  '--disable',
  '-m',
  '--model',
  '-p',
  '--profile',
  '-s',
])
for (const f of ['--sandbox', '-a', '--ask-for-approval', '--local-provider', '-i', '--image', '-C', '--cd'])
  codexValueFlags.add(f)

function firstPositional(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (!arg.startsWith('-')) return arg
    if (codexValueFlags.has(arg)) i++
  }
  return undefined
}

function refuse(arg: string, why: string): never {
  throw new AppError(
    'forbidden_argument',
    `argument "${arg}" is not allowed: ${why}. An operator can allow it with RUN_ALLOW_UNSAFE_ARGS=true`,
  )
}
