/** The model alias every surface accepts: `auto` (like no model at all) means the agent's configured default. */
export const autoModel = 'auto'

/** The model to use: the requested one, unless it is absent or `auto`, then the configured default (if any). */
export function resolveModel(requested: string | undefined | null, configured?: string): string | undefined {
  return requested && requested !== autoModel ? requested : configured
}
