import path from 'node:path'

/**
 * A server environment in `dir` with made-up model keys (codex, OpenAI, Anthropic) and an unreachable codex
 * endpoint, plus `extra`: for checking where secrets go without a model behind them.
 */
export function serverEnvWithKeys<T extends Record<string, string>>(dir: string, extra: T) {
  return {
    PATH: process.env.PATH,
    HOME: dir,
    DATA_DIR: path.join(dir, 'data'),
    CODEX_API_BASE_URL: 'http://127.0.0.1:9/v1',
    CODEX_API_KEY: 'codex-secret-key-1a2b3c4d',
    OPENAI_API_KEY: 'openai-secret-key-5e6f7a8b',
    ANTHROPIC_API_KEY: 'anthropic-secret-key-9c0d1e2f',
    ...extra,
  }
}
