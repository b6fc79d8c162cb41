import type { Config } from '../../config/load.js'
import { autoModel } from '../../protocol/models.js'

/**
 * Seed 001's Docker mode env rules for one POST /run, as its codex_serve.py built the container's env:
 * LITELLM_BASE_URL and LITELLM_API_KEY from the server's settings, the request's own env over them (it passed the
 * env policy before it got here), then CLI_PROVIDER_NAME = the requested cli (set last: a request cannot rename
 * its CLI). LITELLM_MODEL: the request's, else the model of the args' first `--model X`, `--model=X` or `-m X`;
 * either trimmed, `auto` (any case) being the first MODEL_LIST entry that is not `auto`; none (blank, or `auto`
 * with no other entry) leaves it out.
 */
export function dockerModeEnv(
  config: Pick<Config, 'LITELLM_BASE_URL' | 'LITELLM_API_KEY' | 'MODEL_LIST'>,
  cli: string,
  args: string[],
  requestEnv: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {}
  if (config.LITELLM_BASE_URL) env.LITELLM_BASE_URL = config.LITELLM_BASE_URL
  if (config.LITELLM_API_KEY) env.LITELLM_API_KEY = config.LITELLM_API_KEY
  Object.assign(env, requestEnv)
  env.CLI_PROVIDER_NAME = cli
  const configured = resolvedModel(env.LITELLM_MODEL, config.MODEL_LIST)
  if (configured) env.LITELLM_MODEL = configured
  // an empty one stays as given (the original removed only a value it could not use)
  else if (env.LITELLM_MODEL) delete env.LITELLM_MODEL
  if (!env.LITELLM_MODEL) {
    const inferred = resolvedModel(requestedModel(args), config.MODEL_LIST)
    if (inferred) env.LITELLM_MODEL = inferred
  }
  return env
}

/**
 * The args the image gets: as asked, but for `opencode`, whose image takes its model from LITELLM_MODEL and adds a
 * provider-aware `--model` itself, without `--model X`, `--model=X` and `-m X` (the original's rule).
 */
export function dockerModeArgs(cli: string, args: string[]): string[] {
  if (cli !== 'opencode') return args
  const kept: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? ''
    if (arg === '--model' || arg === '-m') i++
    else if (!arg.startsWith('--model=')) kept.push(arg)
  }
  return kept
}

/** The model of the args' first `--model X`, `--model=X` or `-m X`, trimmed; none when it has no value. */
export function requestedModel(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? ''
    if (arg === '--model' || arg === '-m') return args[i + 1]?.trim() || undefined
    if (arg.startsWith('--model=')) return arg.slice('--model='.length).trim() || undefined
  }
  return undefined
}

/** A model named for the container: trimmed; `auto` is MODEL_LIST's first other entry; none when blank or unknown. */
function resolvedModel(model: string | undefined, modelList: string[]): string | undefined {
  const name = model?.trim()
  if (!name) return undefined
  if (name.toLowerCase() !== autoModel) return name
  return modelList.find((m) => m.trim().toLowerCase() !== autoModel)
}
