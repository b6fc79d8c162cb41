import { bypass, otherSession, otherState, paths, provider } from './arg-grammar.js'

/**
 * The command-line grammar of the pinned codex (0.171: `codex --help`, `codex exec --help`, `codex review --help`,
 * `codex exec review --help`), and for each option what POST /run may do with it. Options that take a value are
 * listed as such, so a value is never mistaken for a subcommand or a prompt (`-m exec login`).
 *
 * Verdicts: `ok` passes; `model` passes only a `-c` of a model setting; `sandbox` passes read-only and
 * workspace-write; a string refuses with that reason. An option not listed for its command is refused, so a
 * flag a later codex adds is refused until someone reads what it does.
 */
export type Verdict = 'ok' | 'model-config' | 'sandbox' | string

export interface OptionSpec {
  /** Whether it takes a value (`--model X`, `--model=X`, `-mX`). */
  value: boolean
  verdict: Verdict
}

export interface CommandSpec {
  options: Record<string, OptionSpec>
  /** Short spellings: `-m` -> `--model`. */
  short: Record<string, string>
  /** Subcommands, each with its spec, or the reason it is refused. */
  subcommands: Record<string, CommandSpec | string>
  /** Whether a prompt (a positional) may follow. */
  prompt: boolean
}

const opt = (value: boolean, verdict: Verdict): OptionSpec => ({ value, verdict })

/** Options every codex command shares (clap globals). */
const shared: Record<string, OptionSpec> = {
  '--config': opt(true, 'model-config'),
  '--enable': opt(true, otherState),
  '--disable': opt(true, otherState),
  '--strict-config': opt(false, 'ok'),
  '--help': opt(false, 'ok'),
}
const sharedShort = { '-c': '--config', '-h': '--help' }

/** Options of `codex exec` (and of the root command, which forwards most of them to the TUI). */
const runOptions: Record<string, OptionSpec> = {
  ...shared,
  '--model': opt(true, 'ok'),
  '--sandbox': opt(true, 'sandbox'),
  '--image': opt(true, paths),
  '--cd': opt(true, paths),
  '--add-dir': opt(true, paths),
  '--profile': opt(true, otherState),
  '--oss': opt(false, provider),
  '--local-provider': opt(true, provider),
  '--approve-for-me': opt(false, bypass),
  '--dangerously-bypass-approvals-and-sandbox': opt(false, bypass),
  '--dangerously-bypass-hook-trust': opt(false, bypass),
  '--worktree': opt(false, 'it creates a git worktree outside the workspace'),
  '--version': opt(false, 'ok'),
}
const runShort = {
  ...sharedShort,
  '-m': '--model',
  '-s': '--sandbox',
  '-i': '--image',
  '-C': '--cd',
  '-p': '--profile',
  '-V': '--version',
}

/** Options that run against another app server (`codex`, and `codex exec` and `exec review` since 0.171). */
const remote: Record<string, OptionSpec> = {
  '--remote': opt(true, 'it connects to another app server'),
  '--remote-auth-token-env': opt(true, 'it connects to another app server'),
}

/** Options of `codex exec` beyond the shared run options. */
const execOnly: Record<string, OptionSpec> = {
  ...remote,
  '--json': opt(false, 'ok'),
  '--skip-git-repo-check': opt(false, 'ok'),
  '--ephemeral': opt(false, 'ok'),
  '--color': opt(true, 'ok'),
  '--output-schema': opt(true, paths),
  '--output-last-message': opt(true, paths),
  '--trust': opt(false, otherState),
  '--ignore-user-config': opt(false, otherState),
  '--ignore-rules': opt(false, bypass),
  '--thread-source': opt(true, otherState),
  '--cyber-access-program': opt(true, otherState),
}

const reviewOptions: Record<string, OptionSpec> = {
  ...shared,
  '--uncommitted': opt(false, 'ok'),
  '--base': opt(true, 'ok'),
  '--commit': opt(true, 'ok'),
  '--title': opt(true, 'ok'),
  '--trust': opt(false, otherState),
}

const help: CommandSpec = { options: {}, short: {}, subcommands: {}, prompt: true }

const execReview: CommandSpec = {
  options: {
    ...reviewOptions,
    '--model': opt(true, 'ok'),
    ...Object.fromEntries(
      [
        '--json',
        '--skip-git-repo-check',
        '--ephemeral',
        '--output-schema',
        '--output-last-message',
        '--ignore-user-config',
        '--ignore-rules',
        '--thread-source',
        '--cyber-access-program',
        '--remote',
        '--remote-auth-token-env',
      ].map((name) => [name, execOnly[name]!]),
    ),
    '--dangerously-bypass-approvals-and-sandbox': opt(false, bypass),
    '--dangerously-bypass-hook-trust': opt(false, bypass),
    '--worktree': opt(false, 'it creates a git worktree outside the workspace'),
  },
  short: { ...sharedShort, '-m': '--model', '-o': '--output-last-message' },
  subcommands: {},
  prompt: true,
}

const exec: CommandSpec = {
  options: { ...runOptions, ...execOnly },
  short: { ...runShort, '-o': '--output-last-message' },
  subcommands: { review: execReview, help, resume: otherSession, fork: otherSession },
  prompt: true,
}

const review: CommandSpec = { options: reviewOptions, short: sharedShort, subcommands: {}, prompt: true }

const interactiveOnly = 'codex needs `exec` here (the interactive UI needs a terminal)'
const notHere = 'this codex subcommand is not allowed on /run; use one of: exec, review, help'

/** `codex` itself: only `exec` (alias `e`), `review` and `help` run here; every other subcommand is refused. */
export const codexGrammar: CommandSpec = {
  options: {
    ...runOptions,
    ...remote,
    '--search': opt(false, 'it enables live web search'),
    '--no-alt-screen': opt(false, 'ok'),
    '--no-daemon': opt(false, 'ok'),
    '--ask-for-approval': opt(true, interactiveOnly),
  },
  short: { ...runShort, '-a': '--ask-for-approval' },
  subcommands: {
    exec,
    e: exec,
    review,
    help,
    resume: otherSession,
    fork: otherSession,
    ...Object.fromEntries(
      [
        'agents',
        'login',
        'logout',
        'mcp',
        'plugin',
        'app-server',
        'remote-control',
        'completion',
        'update',
        'doctor',
        'sandbox',
        'debug',
        'apply',
        'a',
        'queue',
        'archive',
        'delete',
        'migrate-rollouts',
        'migrate-nfs-db',
        'unarchive',
        'cloud',
        'exec-server',
        'features',
      ].map((name) => [name, notHere]),
    ),
  },
  // A bare prompt starts the interactive UI.
  prompt: false,
}

/**
 * The spellings of every codex option that takes a value, over all commands of the grammar (a name takes a value
 * everywhere or nowhere): long names (`--model`) and short ones (`-m`), each with its long name.
 */
export function codexValueOptions(): { long: Set<string>; short: Map<string, string> } {
  const long = new Set<string>()
  const short = new Map<string, string>()
  const walk = (command: CommandSpec) => {
    for (const [name, spec] of Object.entries(command.options)) if (spec.value) long.add(name)
    for (const [flag, name] of Object.entries(command.short))
      if (command.options[name]?.value) short.set(flag, name)
    for (const sub of Object.values(command.subcommands)) if (typeof sub !== 'string') walk(sub)
  }
  walk(codexGrammar)
  return { long, short }
}
