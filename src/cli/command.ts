/** One `agent-gateway <name>` subcommand. Each lives in its own file under commands/ and is listed in commands.ts. */
export interface CliCommand {
  name: string
  /** One line for the command list of `agent-gateway --help`. */
  summary: string
  /** The command's own usage text (`agent-gateway <name> --help`). */
  usage: string
  /** Runs the command with the arguments after its name; resolves with an exit code, or never for servers. */
  run(args: string[]): Promise<number | 'running'>
}

/** A mistake in how the command was called: printed as one line plus a hint, exit code 2. */
export class UsageError extends Error {}
