import {
  bypass,
  type CliOption,
  checkOption,
  extensions,
  interactive,
  no,
  ok,
  optionLike,
  otherSession,
  paths,
  refuse,
  workspaceConfig,
  worktree,
} from './arg-grammar.js'

/**
 * The command line of the pinned Gemini CLI (0.61: `gemini --help`, and its yargs options, hidden ones included)
 * as POST /run may use it. yargs-parser reads `--name value` and `--name=value`, `--nameInCamelCase` as
 * `--name-in-camel-case`, `--no-name` as `--name false`, a boolean followed by `true`/`false` as its value, and a
 * group of short flags (`-sd`) whose last letter takes the next argument when it takes a value; a value is never
 * taken from an argument that looks like an option. Every positional goes into the query, and the first one names
 * a subcommand if it is one; yargs finds it with the root's options only (`-p`, `-m` unknown there), so a
 * subcommand's name is refused wherever a positional stands.
 */
const options: Record<string, CliOption> = {
  '--prompt': ok('one'),
  '--model': ok('one'),
  '--output-format': ok('one', ['text', 'json', 'stream-json']),
  '--debug': ok('none'),
  '--sandbox': ok('none'),
  // yolo approves every tool
  '--approval-mode': ok('one', ['default', 'auto_edit', 'plan']),
  // names which of the configured MCP servers may load (on /run, added to the gateway's list of none: those of the
  // system and user settings it names; the workspace's settings are not read, agents/cli/gemini-run.ts)
  '--allowed-mcp-server-names': ok('one'),
  '--list-extensions': ok('none'),
  '--screen-reader': ok('none'),
  '--raw-output': ok('none'),
  '--accept-raw-output-risk': ok('none'),
  '--version': ok('none'),
  '--help': ok('none'),

  '--yolo': no(bypass),
  '--policy': no('it loads policy files that let tools run without approval'),
  '--admin-policy': no('it loads policy files that let tools run without approval'),
  '--allowed-tools': no('it lets tools run without approval'),
  '--include-directories': no(paths),
  '--extensions': no(extensions),
  '--resume': no(otherSession),
  '--session-file': no(otherSession),
  '--session-id': no(otherSession),
  '--list-sessions': no(otherSession),
  '--delete-session': no(otherSession),
  '--prompt-interactive': no(interactive),
  '--acp': no('it starts an ACP server; use the ACP agents'),
  '--experimental-acp': no('it starts an ACP server; use the ACP agents'),
  '--skip-trust': no(workspaceConfig),
  '--worktree': no(worktree),
  '--fake-responses': no(paths),
  '--fake-responses-non-strict': no(paths),
  '--record-responses': no(paths),
  '--is-command': no('it is Gemini CLI’s own'),
}

const short: Record<string, string> = {
  '-p': '--prompt',
  '-m': '--model',
  '-o': '--output-format',
  '-d': '--debug',
  '-s': '--sandbox',
  '-l': '--list-extensions',
  '-v': '--version',
  '-h': '--help',
  '-y': '--yolo',
  '-e': '--extensions',
  '-r': '--resume',
  '-i': '--prompt-interactive',
  '-w': '--worktree',
}

/** Gemini CLI's subcommands and their aliases. */
const subcommands = new Set(['mcp', 'extensions', 'extension', 'skills', 'skill', 'hooks', 'hook', 'gemma'])

/** `--approvalMode` -> `--approval-mode` (yargs' camel-case expansion). */
const kebab = (flag: string) => flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)

/** Walks gemini's argv as yargs-parser does (see above); throws forbidden_argument at the first refusal. */
export function checkGeminiArgs(args: readonly string[]): void {
  const positional = (arg: string) => {
    if (subcommands.has(arg))
      refuse(arg, 'it names a gemini subcommand; only a prompt run (-p) is allowed on /run')
  }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? ''
    if (arg === '--') {
      for (const rest of args.slice(i + 1)) positional(rest)
      return
    }
    if (!optionLike(arg)) {
      positional(arg)
      continue
    }
    /** The option `name` as `shown`, its value attached (`inline`) or, if it takes one, the next argument. */
    const take = (name: string, shown: string, inline?: string) => {
      const spec = options[name]
      checkOption('gemini', name, spec, [], shown)
      if (!spec || inline !== undefined)
        return checkOption('gemini', name, spec, inline ? [inline] : [], shown)
      const next = args[i + 1]
      if (spec.arity === 'none') {
        if (next === 'true' || next === 'false') i++
        return
      }
      if (next === undefined || optionLike(next)) refuse(shown, `${name} needs a value`)
      i++
      checkOption('gemini', name, spec, [next], shown)
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=')
      if (eq > 2) {
        take(kebab(arg.slice(0, eq)), arg, arg.slice(eq + 1))
        continue
      }
      const negated = /^--no-(.+)$/.exec(arg)
      if (negated) {
        // `--no-debug`: only a flag /run allows anyway may be turned off
        const name = kebab(`--${negated[1]}`)
        const spec = options[name]
        if (spec?.verdict !== 'ok' || spec.arity !== 'none')
          refuse(arg, `gemini has no option ${arg} that /run allows`)
        continue
      }
      take(kebab(arg), arg)
      continue
    }
    // `-m=VALUE`; `-x`; a group of letters (`-sd`), all flags but the last, which is read like `-x`
    if (arg[2] === '=') {
      take(short[arg.slice(0, 2)] ?? arg.slice(0, 2), arg, arg.slice(3))
      continue
    }
    if (!/^-[A-Za-z]+$/.test(arg))
      refuse(arg, 'write short options one by one (`-m VALUE`, `-m=VALUE`) or use the long spelling')
    const letters = arg.slice(1).split('')
    for (const letter of letters.slice(0, -1)) {
      const name = short[`-${letter}`] ?? `-${letter}`
      const spec = options[name]
      checkOption('gemini', name, spec, [], arg)
      if (spec?.arity !== 'none') refuse(arg, `${name} takes a value: write it on its own`)
    }
    const last = `-${letters.at(-1)}`
    take(short[last] ?? last, arg)
  }
}
