import { signal } from '@preact/signals'
import { ApiError, createClient } from '../../src/client/index.js'

export { errorText } from './error-text.js'

/** Where the token the user typed is kept: this browser only, never a URL. */
const tokenKey = 'agent-gateway.token'

export const token = signal<string | null>(localStorage.getItem(tokenKey))
/** True once a call answered 401: the console asks for a token. */
export const needsToken = signal(false)

export function setToken(value: string | null): void {
  if (value) localStorage.setItem(tokenKey, value)
  else localStorage.removeItem(tokenKey)
  token.value = value
  needsToken.value = false
}

/** The one client the console talks through (typed from /openapi.json). */
export const client = createClient({ baseUrl: '', token: () => token.value })

/** Unwraps an openapi-fetch answer: the data, or an ApiError (401 also raises the token prompt). */
export async function call<T>(
  request: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await request
  if (response.status === 401) needsToken.value = true
  if (!response.ok || data === undefined) throw new ApiError(response.status, error ?? null)
  return data
}
