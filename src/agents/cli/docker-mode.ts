import type { Config } from '../../config/load.js'
import { autoModel } from '../../protocol/models.js'

/**
 * Seed 001's Docker mode env rules for one POST /run: LITELLM_BASE_URL and LITELLM_API_KEY from the server's
 * settings, CLI_PROVIDER_NAME = the requested cli, LITELLM_MODEL inferred from `--model`/`-m` (an `auto`
 * model becomes the first non-`auto` entry of MODEL_LIST), and the request's own env over all of them (it
 * passed the env policy before it got here).
 */
export function dockerModeEnv(
  config: Config,
  cli: string,
  args: string[],
  requestEnv: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {}
  if (config.LITELLM_BASE_URL) env.LITELLM_BASE_URL = config.LITELLM_BASE_URL
  if (config.LITELLM_API_KEY) env.LITELLM_API_KEY = config.LITELLM_API_KEY
  env.CLI_PROVIDER_NAME = cli
  const model = requestedModel(args)
  if (model !== undefined && requestEnv.LITELLM_MODEL === undefined)
    env.LITELLM_MODEL =
      model === autoModel ? (config.MODEL_LIST.find((m) => m !== autoModel) ?? model) : model
  return { ...env, ...requestEnv }
}

/** The value of the last `--model X`, `--model=X`, `-m X` or `-mX` in args. */
export function requestedModel(args: string[]): string | undefined {
  let model: string | undefined
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? ''
    if ((arg === '--model' || arg === '-m') && i + 1 < args.length) model = args[++i]
    else if (arg.startsWith('--model=')) model = arg.slice('--model='.length)
    else if (arg.startsWith('-m') && arg.length > 2 && !arg.startsWith('--')) model = arg.slice(2)
  }
  return model
}
