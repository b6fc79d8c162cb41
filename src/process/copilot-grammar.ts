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
  otherState,
  paths,
  refuse,
  remote,
  tools,
  workspaceConfig,
} from './arg-grammar.js'

/**
 * The command line of the pinned GitHub Copilot CLI (1.0.102: `copilot --help`) as POST /run may use it. Its
 * parser is clap's (checked against the binary): `--name value`, `--name=value`, `-pVALUE`, `-p=VALUE`, flags
 * bundled (`-sp VALUE`); a value is never taken from an argument that looks like an option; a list
 * (`--deny-tool a b`) takes the arguments up to the next option, but not after `--deny-tool=a`; no long option
 * is abbreviated. It takes no positional but a subcommand: the prompt goes in `-p`.
 */
const options: Record<string, CliOption> = {
  '--prompt': ok('one'),
  '--silent': ok('none'),
  '--model': ok('one'),
  '--reasoning-effort': ok('one'),
  '--context': ok('one'),
  '--auto-tier': ok('one'),
  '--output-format': ok('one', ['text', 'json']),
  '--stream': ok('one', ['on', 'off']),
  '--log-level': ok('one'),
  '--name': ok('one'),
  '--mode': ok('one', ['interactive', 'plan', 'autopilot']),
  '--plan': ok('none'),
  '--autopilot': ok('none'),
  '--max-autopilot-continues': ok('one'),
  '--max-ai-credits': ok('one'),
  '--fleet': ok('none'),
  '--deny-tool': ok('many'),
  '--excluded-tools': ok('many'),
  '--deny-url': ok('many'),
  '--secret-env-vars': ok('many'),
  '--disable-mcp-server': ok('one'),
  '--disable-builtin-mcps': ok('none'),
  '--disallow-temp-dir': ok('none'),
  '--disable-client-telemetry': ok('none'),
  '--no-custom-instructions': ok('none'),
  '--no-auto-update': ok('none'),
  '--no-ask-user': ok('none'),
  '--no-color': ok('none'),
  '--no-experimental': ok('none'),
  '--no-bash-env': ok('none'),
  '--no-mouse': ok('none'),
  '--no-remote': ok('none'),
  '--no-remote-export': ok('none'),
  '--no-eager-powershell-resolution': ok('none'),
  '--banner': ok('none'),
  '--screen-reader': ok('none'),
  '--plain-diff': ok('none'),
  '--mouse': ok('optional', ['on', 'off']),
  '--version': ok('none'),
  '--help': ok('none'),

  '--interactive': no(interactive),
  '--trust-folder': no(workspaceConfig),
  '--enable-memory': no(otherState),
  '--agent': no(otherState),
  '--dynamic-retrieval': no(otherState),
  '--experimental': no(otherState),
  '--resume': no(otherSession),
  '--continue': no(otherSession),
  '--session-id': no(otherSession),
  '--connect': no(remote),
  '--remote': no(remote),
  '--remote-export': no(remote),
  '--environment-host': no(remote),
  '--environment-compute-id': no(remote),
  '--acp': no('it starts an ACP server; use the ACP agents'),
  '--allow-all-tools': no(bypass),
  '--allow-all-paths': no(bypass),
  '--allow-all-urls': no(bypass),
  '--allow-all': no(bypass),
  '--yolo': no(bypass),
  '--allow-tool': no('it lets tools run without approval'),
  '--allow-url': no('it lets tools reach URLs without approval'),
  '--assisted-approval': no('it lets a model approve tools'),
  '--available-tools': no(tools),
  '-C': no(paths),
  '--log-dir': no(paths),
  '--extension-sdk-path': no(paths),
  '--share': no(paths),
  '--share-gist': no('it uploads the session to a gist'),
  '--add-dir': no(paths),
  '--attachment': no(paths),
  '--usage-output-file': no(paths),
  '--plugin-dir': no(extensions),
  '--additional-mcp-config': no(extensions),
  '--mcp-github-auth': no(extensions),
  '--enable-mcp-server': no(extensions),
  '--enable-all-github-mcp-tools': no(extensions),
  '--add-github-mcp-toolset': no(extensions),
  '--add-github-mcp-tool': no(extensions),
  '--allow-all-mcp-server-instructions': no(extensions),
  '--bash-env': no('it makes shells load a file ($BASH_ENV)'),
}

const short: Record<string, string> = {
  '-p': '--prompt',
  '-s': '--silent',
  '-n': '--name',
  '-v': '--version',
  '-h': '--help',
  '-i': '--interactive',
  '-r': '--resume',
  '-C': '-C',
}

/** Subcommands that only print (`copilot help environment`, `copilot version`); every other one is refused. */
const printing = new Set(['help', 'version'])

/** Walks copilot's argv as clap does (see above); throws forbidden_argument at the first refusal. */
export function checkCopilotArgs(args: readonly string[]): void {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? ''
    if (arg === '--') {
      if (i + 1 < args.length) refuse(args[i + 1] ?? '', 'copilot takes no argument after `--`')
      return
    }
    if (!optionLike(arg)) {
      if (!printing.has(arg))
        refuse(arg, 'copilot takes its prompt in -p; this names a subcommand, which /run does not allow')
      for (const rest of args.slice(i + 1))
        if (optionLike(rest)) refuse(rest, `\`copilot ${arg}\` takes no option on /run`)
      return
    }
    /** Values after `name` (`taken` attached, or from the next arguments): how many it takes. */
    const values = (name: string, spec: CliOption, shown: string, taken?: string): string[] => {
      if (taken !== undefined) {
        if (spec.arity === 'none') refuse(shown, `${name} takes no value`)
        return [taken]
      }
      const found: string[] = []
      const more = () => i + 1 < args.length && !optionLike(args[i + 1] ?? '')
      if (spec.arity === 'one' && !more()) refuse(shown, `${name} needs a value`)
      if (spec.arity === 'one' || spec.arity === 'optional') {
        if (more()) found.push(args[++i] ?? '')
      } else if (spec.arity === 'many') while (more()) found.push(args[++i] ?? '')
      return found
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=')
      const name = eq === -1 ? arg : arg.slice(0, eq)
      const spec = options[name]
      checkOption('copilot', name, spec, [], arg)
      if (spec)
        checkOption(
          'copilot',
          name,
          spec,
          values(name, spec, arg, eq === -1 ? undefined : arg.slice(eq + 1)),
          arg,
        )
      continue
    }
    // a bundle: flags, then at most one option that takes the rest (`-sphi`, `-p=hi`) or the next argument
    for (let j = 1; j < arg.length; j++) {
      const letter = `-${arg[j]}`
      const name = short[letter] ?? letter
      const spec = options[name]
      checkOption('copilot', name, spec, [], arg)
      if (!spec || spec.arity === 'none') continue
      const rest = arg.slice(j + 1).replace(/^=/, '')
      checkOption('copilot', name, spec, values(name, spec, arg, rest === '' ? undefined : rest), arg)
      break
    }
  }
}
