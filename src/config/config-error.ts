/** A setting is missing or invalid: the server refuses to start and says which and why. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}
