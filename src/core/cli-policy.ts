import type { AgentRegistry } from '../agents/registry.js'
import type { Config } from '../config/load.js'
import { checkRunArgs, checkRunEnv } from '../process/policy.js'
import { AppError } from '../protocol/errors.js'
import type { RunRequestFields } from '../protocol/runs.js'

/**
 * The one place the cli policy is applied, by RunManager.submit for POST /v1/runs and POST /run alike (a
 * command the gateway builds itself, seed 002's `codex exec`, is exempt): a prompt for agents; for the `cli`
 * agent an allowlisted command (CLI_LIST) whose args and env pass process/policy.ts and whose CLI is installed
 * (unless it runs in a container image). `policyArgs`: the args as the CLI will receive them when the image
 * rewrites the request's (SubmitOptions.policyArgs).
 */
export function checkRunInput(
  driverId: string,
  fields: RunRequestFields,
  config: Config,
  registry: AgentRegistry,
  policyArgs?: string[],
): void {
  if (driverId !== 'cli') {
    if (fields.command)
      throw new AppError('invalid_request', '`command` is only for the cli agent; send `prompt`')
    if (!fields.prompt) throw new AppError('invalid_request', '`prompt` is required')
    return
  }
  const command = fields.command
  if (!command)
    throw new AppError('invalid_request', 'the cli agent needs `command` {cli, args, stdin?, env?}')
  if (!config.CLI_LIST.includes(command.cli))
    throw new AppError(
      'unknown_cli',
      `cli "${command.cli}" is not allowed; CLI_LIST allows: ${config.CLI_LIST.join(', ') || 'none'}`,
    )
  checkRunArgs(command.cli, policyArgs ?? command.args, config.RUN_ALLOW_UNSAFE_ARGS, {
    claudeWorkspaceSettings: config.CLAUDE_WORKSPACE_SETTINGS,
  })
  checkRunEnv(command.env, config.RUN_ALLOW_ENV)
  // in a container the cli is the executable inside the image: it need not exist on this host
  if (fields.isolation !== 'container' && !registry.cli().resolve(command.cli))
    throw new AppError(
      'agent_not_installed',
      `cli "${command.cli}" is in CLI_LIST but not installed on this server`,
    )
}
