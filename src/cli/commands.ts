import type { CliCommand } from './command.js'
import { serveCommand } from './commands/serve.js'
import { streamCommand } from './commands/stream.js'

/** Every subcommand; a new one is one file under commands/ plus one line here. */
export const commands: readonly CliCommand[] = [serveCommand, streamCommand]
