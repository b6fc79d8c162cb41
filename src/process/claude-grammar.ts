import {
  bypass,
  type CliOption,
  checkOption,
  extensions,
  no,
  ok,
  optionLike,
  otherSession,
  otherState,
  paths,
  provider,
  refuse,
  remote,
  tools,
  worktree,
} from './arg-grammar.js'

/**
 * The command line of the pinned Claude Code (2.1.330: `claude --help`) as POST /run may use it. Its parser is
 * commander's (read from the binary): an option named exactly takes its value from the next argument whatever it
 * is (`<v>`), or only if that is no option (`[v]`), a list (`<v...>`) takes the arguments up to the next option;
 * `--name=value` and `-nVALUE` attach it; a short flag followed by more (`-pv`, even `-p-add-dir`) is that flag
 * and the rest read again as `-<rest>`. The first operand names a subcommand if it is one (`claude -p mcp` runs
 * `claude mcp`), hidden ones included. Claude Code also scans argv itself before commander does, some of it for
 * exact tokens anywhere (`--ignore-persisted-trust`): so no value or operand may start with `-`.
 */
const allOptions: Record<string, CliOption> = {
  '--print': ok('none'),
  '--output-format': ok('one', ['text', 'json', 'stream-json']),
  '--input-format': ok('one', ['text', 'stream-json']),
  '--verbose': ok('none'),
  '--model': ok('one'),
  '--fallback-model': ok('one'),
  '--effort': ok('one'),
  '--system-prompt': ok('one'),
  '--append-system-prompt': ok('one'),
  '--system-prompt-snapshot': ok('one'),
  '--json-schema': ok('one'),
  '--max-budget-usd': ok('one'),
  '--max-turns': ok('one'),
  '--autocompact': ok('one'),
  '--include-partial-messages': ok('none'),
  '--include-hook-events': ok('none'),
  '--replay-user-messages': ok('none'),
  '--forward-subagent-text': ok('none'),
  '--no-session-persistence': ok('none'),
  // bypassPermissions skips every check; auto lets a classifier approve commands
  '--permission-mode': ok('one', ['default', 'manual', 'dontAsk', 'plan', 'acceptEdits']),
  '--permission-prompts': ok('one', ['host', 'none']),
  '--disallowed-tools': ok('many'),
  '--disallowedTools': ok('many'),
  '--disable-slash-commands': ok('none'),
  '--strict-mcp-config': ok('none'),
  // without it Claude Code loads all three; naming them can only load fewer. The gateway gives `user` itself
  // unless CLAUDE_WORKSPACE_SETTINGS (withWorkspaceSettingsOff below)
  '--setting-sources': ok('one', [
    'user',
    'project',
    'local',
    'user,project',
    'user,local',
    'project,local',
    'user,project,local',
  ]),
  '--safe-mode': ok('none'),
  '--bare': ok('none'),
  '--restricted': ok('none'),
  '--exclude-dynamic-system-prompt-sections': ok('none'),
  '--brief': ok('none'),
  '--ax-screen-reader': ok('none'),
  '--no-chrome': ok('none'),
  '--name': ok('one'),
  '--debug': ok('optional'),
  '--prompt-suggestions': ok('optional'),
  '--help': ok('none'),
  '--version': ok('none'),

  '--add-dir': no(paths),
  '--debug-file': no(paths),
  '--file': no(paths),
  '--mcp-config': no(extensions),
  '--plugin-dir': no(extensions),
  '--plugin-url': no(extensions),
  '--agents': no(extensions),
  '--agent': no(otherState),
  '--settings': no('it loads settings (hooks, permission rules, commands)'),
  '--allowed-tools': no('it lets tools run without approval'),
  '--allowedTools': no('it lets tools run without approval'),
  '--dangerously-skip-permissions': no(bypass),
  '--allow-dangerously-skip-permissions': no(bypass),
  '--tools': no(tools),
  '--betas': no(provider),
  '--continue': no(otherSession),
  '--resume': no(otherSession),
  '--fork-session': no(otherSession),
  '--from-pr': no(otherSession),
  '--session-id': no(otherSession),
  '--teleport': no(remote),
  '--cloud': no(remote),
  '--environment': no(remote),
  '--remote-control': no(remote),
  '--remote-control-session-name-prefix': no(remote),
  '--desktop': no(remote),
  '--ide': no(remote),
  '--chrome': no(remote),
  '--bg': no('it leaves a session running after the run'),
  '--background': no('it leaves a session running after the run'),
  '--worktree': no(worktree),
  '--tmux': no(worktree),
}

const short: Record<string, string> = {
  '-p': '--print',
  '-d': '--debug',
  '-n': '--name',
  '-h': '--help',
  '-v': '--version',
  '-c': '--continue',
  '-r': '--resume',
  '-w': '--worktree',
}

/**
 * Claude Code's subcommands, hidden ones included (each answers `claude <name> --help` with its own usage), and
 * the background-session verbs its entry point dispatches before commander: a first operand naming one is
 * refused, and so is any hyphenated single word (a subcommand a later version adds looks like that).
 */
const subcommands = new Set([
  'agents',
  'apply-project-settings',
  'attach',
  'auth',
  'auto-mode',
  'design-login',
  'doctor',
  'edit-chrome-settings',
  'edit-hook',
  'edit-memory-settings',
  'edit-permission-rules',
  'edit-sandbox-settings',
  'edit-skill-overrides',
  'gateway',
  'help',
  'import',
  'import-conversations',
  'install',
  'kill',
  'logs',
  'mcp',
  'plugin',
  'plugins',
  'project',
  'purge',
  'rc',
  'remote-control',
  'respawn',
  'rm',
  'sandbox',
  'setup-token',
  'stop',
  'ultrareview',
  'update',
  'upgrade',
  'workspace-trust',
  'worktree-hook',
])

const spelt = (arg: string) => short[arg] ?? arg
const valueLooksLikeOption =
  'a value or prompt that starts with `-` is read as an option by Claude Code’s own checks; send the prompt on stdin'

/**
 * With CLAUDE_WORKSPACE_SETTINGS off the gateway runs claude with `--setting-sources user --strict-mcp-config`
 * (cli/driver.ts): a request's own `--setting-sources` may only say the same, since `project` and `local` are the
 * workspace's `.claude/settings.json` and `settings.local.json` (hooks, `env`, allow rules).
 */
const withWorkspaceSettingsOff: Record<string, CliOption> = {
  ...allOptions,
  '--setting-sources': {
    ...ok('one', ['user']),
    why: 'it loads the workspace’s own Claude Code settings (`.claude/settings.json`, `settings.local.json`: hooks, env, allow rules), which this gateway leaves out (CLAUDE_WORKSPACE_SETTINGS=false); only `user` is allowed',
  },
}

/**
 * Walks claude's argv as its parser does (see above); throws forbidden_argument at the first refusal.
 * `workspaceSettings`: CLAUDE_WORKSPACE_SETTINGS.
 */
export function checkClaudeArgs(args: readonly string[], workspaceSettings = false): void {
  const options = workspaceSettings ? allOptions : withWorkspaceSettingsOff
  let operands = 0
  const operand = (arg: string) => {
    if (optionLike(arg)) refuse(arg, valueLooksLikeOption)
    if (operands++ === 0 && (subcommands.has(arg) || /^[a-z]+(-[a-z]+)+$/.test(arg)))
      refuse(arg, `it names a claude subcommand; only a prompt run (-p) is allowed on /run`)
  }
  const value = (arg: string | undefined, name: string, shown: string): string => {
    if (arg === undefined) refuse(shown, `${name} needs a value`)
    if (optionLike(arg)) refuse(`${shown} ${arg}`, valueLooksLikeOption)
    return arg
  }
  let i = 0
  /** What a short flag left of its argument (`-pv` -> `-v`), read next. */
  let pending: string | undefined
  while (pending !== undefined || i < args.length) {
    const arg = pending ?? args[i++]!
    pending = undefined
    if (arg === '--') {
      for (const rest of args.slice(i)) operand(rest)
      return
    }
    if (!optionLike(arg)) {
      operand(arg)
      continue
    }
    const exact = options[spelt(arg)]
    if (exact) {
      const name = spelt(arg)
      checkOption('claude', name, exact, [], arg)
      const values: string[] = []
      if (exact.arity === 'one' || exact.arity === 'many') values.push(value(args[i++], name, arg))
      else if (exact.arity === 'optional' && i < args.length && !optionLike(args[i] ?? ''))
        values.push(args[i++] ?? '')
      if (exact.arity === 'many')
        while (i < args.length && !optionLike(args[i] ?? '')) values.push(args[i++] ?? '')
      checkOption('claude', name, exact, values, arg)
      continue
    }
    // `--name=value`; a short flag with more after it: `-nVALUE` (also `-n=VALUE`, its value starting with `=`)
    // or a bundle (`-pv`)
    const long = arg[1] === '-'
    const at = long ? arg.indexOf('=') : 2
    const name = at > 0 ? spelt(arg.slice(0, at)) : arg
    const spec = options[name]
    checkOption('claude', name, spec, [], arg)
    if (spec && spec.arity !== 'none') {
      checkOption('claude', name, spec, [arg.slice(long ? at + 1 : 2)], arg)
      continue
    }
    if (long) refuse(arg, `${name} takes no value`)
    pending = `-${arg.slice(2)}`
  }
}
