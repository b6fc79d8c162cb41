#!/usr/bin/env node
import type { CliCommand } from './cli/command.js'
import { commands } from './cli/commands.js'
import { describeStartupError } from './cli/startup-error.js'
import { helpText, usageLine } from './cli/usage.js'
import { packageVersion } from './cli/version.js'

/** CLI entry: `agent-gateway <command>`; each command is one file under src/cli/commands/. */
async function main(argv: string[]): Promise<number | 'running'> {
  const [first, ...rest] = argv
  if (first === undefined) {
    console.error(usageLine(commands))
    return 2
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    console.log(helpText(commands, packageVersion()))
    return 0
  }
  if (first === '--version' || first === '-v' || first === 'version') {
    console.log(packageVersion())
    return 0
  }
  const command: CliCommand | undefined = commands.find((c) => c.name === first)
  if (!command) {
    console.error(`agent-gateway: unknown command "${first}"\n${usageLine(commands)}`)
    return 2
  }
  return command.run(rest)
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 'running') process.exitCode = code
  },
  (err) => {
    const { message, exitCode } = describeStartupError(err)
    console.error(`agent-gateway: ${message}`)
    process.exit(exitCode)
  },
)
