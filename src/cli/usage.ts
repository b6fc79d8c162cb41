import type { CliCommand } from './command.js'

/** The one-line usage printed when no command is given. */
export function usageLine(commands: readonly CliCommand[]): string {
  return `usage: agent-gateway <${commands.map((c) => c.name).join('|')}> [options]   (agent-gateway --help for more)`
}

/** `agent-gateway --help`. */
export function helpText(commands: readonly CliCommand[], version: string): string {
  const width = Math.max(...commands.map((c) => c.name.length))
  return [
    `agent-gateway ${version}: run coding-agent CLIs (Codex, Claude Code, Gemini CLI, Copilot CLI, ACP agents) behind HTTP`,
    '',
    'usage: agent-gateway <command> [options]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'options:',
    '  -h, --help     this help (agent-gateway <command> --help for a command)',
    '  -v, --version  the version',
    '',
    'Settings are environment variables (or a .env file in the working directory); see .env.example.',
  ].join('\n')
}
